"""Checking data against the project's rules: SHACL shapes plus the verbatim-quote check.

``validate(graph)`` returns violations as ``Violation(node, path, message)`` records, one per problem,
sorted, with nodes written as prefixed names. A blank node is named by the path from the nearest IRI
(``kgd:deal-x/kg:amount``) so the person fixing the data can find it. pySHACL needs rdflib's
in-memory store: on an Oxigraph-backed graph it is over a hundred times slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from decimal import Decimal

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from kg.graph import KG, PROJECT_ROOT, SCHEMA, SHAPES_FILE, SH, parse_file


@dataclass(frozen=True, order=True)
class Violation:
    """One problem in the data: which node, which property, what is wrong."""

    node: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.node}  {self.path}  {self.message}"


def validate(graph: Graph, *, shapes_file: Path = SHAPES_FILE, base_dir: Path = PROJECT_ROOT) -> list[Violation]:
    """All violations of the shapes and of the quote rule in ``graph`` (empty list when clean)."""
    return sorted(set(shacl_violations(graph, shapes_file)) | set(quote_violations(graph, base_dir)))


def shacl_violations(graph: Graph, shapes_file: Path = SHAPES_FILE) -> list[Violation]:
    """Violations of the SHACL shapes, as readable records.

    A NaN value cannot be compared (pySHACL's range checks fail on it): it is reported here, and the
    shapes check a copy of the graph without it.
    """
    import pyshacl  # heavy (0.6 s): only validation needs it

    not_numbers = [(s, p, o) for p in (SCHEMA.value, KG.line) for s, o in graph.subject_objects(p) if _is_nan(o)]
    violations = [Violation(_name(graph, s), _short(graph, p), f"value {str(o)!r} is not a number (NaN)")
                  for s, p, o in not_numbers]
    checked = graph
    if not_numbers:
        checked = Graph()
        for triple in graph:
            if triple not in not_numbers:
                checked.add(triple)
    shapes = parse_file(Graph(), shapes_file)
    _conforms, report, _text = pyshacl.validate(checked, shacl_graph=shapes, inference="none",
                                                advanced=False, allow_warnings=True)
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        value = report.value(result, SH.value)
        text = str(message) if message is not None else "violates " + _name(graph, report.value(result, SH.sourceShape))
        if value is not None and path is not None and "value" not in text:
            text += f" (found {_short(graph, value)})"
        violations.append(Violation(_name(graph, focus), _short(graph, path) if path is not None else "-", text))
    return violations


def _is_nan(term) -> bool:
    value = term.value if isinstance(term, Literal) else None
    return isinstance(value, (Decimal, float)) and value != value  # NaN is the one value unequal to itself


def quote_violations(graph: Graph, base_dir: Path = PROJECT_ROOT) -> list[Violation]:
    """Spans whose quote does not occur verbatim in the stated line of a document we have a copy of.

    A document is checked when it has ``kg:localCopy`` (a path relative to ``base_dir``); documents without
    a local copy (synthetic or external ones) cannot be checked and are skipped.
    """
    lines_of: dict = {}
    violations = []
    for span, quote in graph.subject_objects(KG.quote):
        document, line = graph.value(span, KG.document), graph.value(span, KG.line)
        if document is None or line is None:
            continue  # the shapes report missing parts
        if document not in lines_of:
            lines_of[document] = _document_lines(graph, document, base_dir)
        lines = lines_of[document]
        where = _name(graph, span)
        if isinstance(lines, str):
            violations.append(Violation(where, "kg:document", lines))
            continue
        if lines is None:
            continue
        try:
            number = int(line)
        except ValueError:
            continue
        if not 1 <= number <= len(lines):
            violations.append(Violation(where, "kg:line", f"line {number} is outside the document ({len(lines)} lines)"))
        elif str(quote) not in lines[number - 1]:
            violations.append(Violation(where, "kg:quote",
                                        f"quote {_clip(str(quote))!r} does not occur in line {number} of {_short(graph, document)}"))
    return violations


def _document_lines(graph: Graph, document, base_dir: Path):
    """The document's lines; None when it has no local copy; a message (str) when the copy is unusable."""
    copy = graph.value(document, KG.localCopy)
    if copy is None:
        return None
    base = Path(base_dir).resolve()
    path = (base / str(copy)).resolve()
    if base not in path.parents:  # data must not make us read files outside the project
        return f"local copy {str(copy)!r} of {_short(graph, document)} is outside the project folder"
    if not path.is_file():
        return f"local copy {str(copy)!r} of {_short(graph, document)} not found"
    return path.read_text(encoding="utf-8").split("\n")


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(graph: Graph, term) -> str:
    if isinstance(term, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(term)
        except Exception:
            return f"<{term}>"
    if isinstance(term, BNode):
        return _name(graph, term)
    return repr(str(term))


def _name(graph: Graph, node, depth: int = 0) -> str:
    """A prefixed name for an IRI; for a blank node, the path to it from the nearest IRI."""
    if not isinstance(node, BNode):
        return _short(graph, node) if node is not None else "-"
    if depth > 4:
        return "[]"
    for parent, prop in graph.subject_predicates(node):
        return f"{_name(graph, parent, depth + 1)}/{_short(graph, prop)}"
    return "[]"
