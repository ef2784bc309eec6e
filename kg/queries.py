"""SPARQL over the graph: stored queries (``queries/*.rq``), parameters, time limits, result formats.

A stored query is a plain SPARQL file whose leading comment lines form a header::

    # title: Circular deals
    # description: Pairs of deals in which value goes both ways between two parties.
    # param: company = kgd:OpenAI  The company to look at (a name, alias, prefixed name or IRI)

Our prefixes (``kg:``, ``kgd:``, ``schema:`` ...) are predeclared. A parameter is bound by inserting
``VALUES ?name { value }`` at the start of the query's outer WHERE group, which works the same on every
SPARQL engine (Oxigraph only binds projected variables through its own API).

>>> from kg.graph import load_graph
>>> graph = load_graph()
>>> query = find_query("SELECT ?zh WHERE { ?org rdfs:label ?zh FILTER(lang(?zh) = 'zh') }")
>>> text = prepare_query(graph, query, {"org": "Nvidia"})
>>> outcome = run_query(graph, text)
>>> [str(row[0]) for row in outcome.rows]
['英伟达']
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.term import Node

from kg.errors import (InputFileError, KgError, QuerySyntaxError, QueryTimeout, UnknownEntityError,
                       UnknownQueryError, UsageError)
from kg.graph import PREFIXES, QUERIES_DIR, sparql_prologue

# Query forms, and update forms too: typed-in updates are SPARQL text, refused as such (kg.sparql_guard).
_QUERY_FORMS = re.compile(r"^\s*(PREFIX|BASE|SELECT|ASK|CONSTRUCT|DESCRIBE"
                          r"|INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.IGNORECASE | re.MULTILINE)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Param:
    """A parameter of a stored query: ``?name``, its default (None: unbound), and what it means."""

    name: str
    default: str | None
    description: str


@dataclass(frozen=True)
class StoredQuery:
    """A SPARQL query with its header; ``name`` is the file stem, or "(inline)" for typed-in text."""

    name: str
    text: str
    title: str = ""
    description: str = ""
    params: tuple[Param, ...] = field(default=())
    path: Path | None = None


def parse_header(name: str, text: str, path: Path | None = None) -> StoredQuery:
    """Read the ``# title:``, ``# description:`` and ``# param:`` lines at the top of a query."""
    title, description, params = "", [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        key, _, value = stripped.lstrip("#").strip().partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "title":
            title = value
        elif key == "description":
            description.append(value)
        elif key == "param":
            spec, _, meaning = value.partition("  ")
            pname, _, default = spec.partition("=")
            default = default.strip()
            params.append(Param(pname.strip().lstrip("?"), None if default in ("", "none") else default, meaning.strip()))
        elif key == "" or key not in ("title", "description", "param") and description:
            description.append(stripped.lstrip("#").strip())
    return StoredQuery(name, text, title, " ".join(d for d in description if d), tuple(params), path)


def stored_queries(directory: Path = QUERIES_DIR) -> list[StoredQuery]:
    """Every stored query in ``directory``, by name."""
    return [parse_header(path.stem, path.read_text(encoding="utf-8"), path)
            for path in sorted(Path(directory).glob("*.rq"))]


def find_query(spec: str, directory: Path = QUERIES_DIR) -> StoredQuery:
    """A stored query's name, a path to a ``.rq`` file, or SPARQL text, as a StoredQuery."""
    if _QUERY_FORMS.search(spec) and not _NAME.match(spec.strip()):
        return parse_header("(inline)", spec)
    stored = Path(directory) / f"{spec}.rq"
    if _NAME.match(spec) and stored.is_file():
        return parse_header(spec, stored.read_text(encoding="utf-8"), stored)
    path = Path(spec)
    if path.suffix in (".rq", ".sparql") or "/" in spec or path.exists():
        if not path.is_file():
            raise InputFileError(f"{spec}: no such query file")
        return parse_header(path.stem, read_query_text(path, spec), path)
    names = ", ".join(q.name for q in stored_queries(directory))
    raise UnknownQueryError(f"no stored query named {spec!r}; stored queries: {names}")


def read_query_text(source, name: str) -> str:
    """SPARQL text from a file path or a binary stream (standard input), within ``KG_MAX_QUERY_SIZE``.

    Binary input is refused without echoing it back.
    """
    from kg.limits import check, format_size, limit

    budget = limit("max_query_size")
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as handle:
                raw = handle.read() if budget is None else handle.read(budget + 1)
        else:
            raw = source.read() if budget is None else source.read(budget + 1)
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read ({exc.strerror})") from None
    if budget is not None:
        check("max_query_size", len(raw), f"{name}: the query is over {format_size(budget)}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name}: not UTF-8 text (byte {exc.start:,} of {len(raw):,}); is it binary data?") from None
    if "\x00" in text:
        raise InputFileError(f"{name}: contains NUL bytes; is it binary data?")
    return text


def _iri(text: str) -> URIRef:
    """``text`` as an IRI, refusing characters that could end the IRI inside the query text."""
    bad = re.search(r'[\x00-\x20<>"{}|^`\\]', text)
    if bad:
        raise UsageError(f"--param: {text[:60]!r} is not a valid IRI (it contains {bad.group()!r})")
    return URIRef(text)


def bind_value(graph: Graph, text: str) -> Node:
    """A parameter value as an RDF term: an IRI (<...>, prefixed name, or entity name) or a literal.

    Quoted text ("...") is always a string literal; numbers become xsd:integer or xsd:decimal.
    """
    from kg.entities import resolve_entity

    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return Literal(text[1:-1])
    if text.startswith("<") and text.endswith(">"):
        return _iri(text[1:-1])
    prefix, sep, rest = text.partition(":")
    if sep and prefix in PREFIXES and " " not in rest:
        return _iri(str(PREFIXES[prefix]) + rest)
    # Numbers in canonical form, as the engine stores them; past a thousand digits (Python refuses
    # int() of more than 4,300) the digits are kept as written, a valid literal all the same.
    if re.fullmatch(r"[+-]?\d+", text):
        return Literal(int(text)) if len(text) <= 1000 else Literal(text, datatype=XSD.integer)
    if re.fullmatch(r"[+-]?\d*\.\d+", text):
        return Literal(Decimal(text)) if len(text) <= 1000 else Literal(text, datatype=XSD.decimal)
    try:
        return resolve_entity(graph, text)
    except UnknownEntityError:
        if re.fullmatch(r"\d{4}", text):
            return Literal(text)
        raise


def prepare_query(graph: Graph, query: StoredQuery, values: dict[str, str] | None = None,
                  limit: int | None = None) -> str:
    """The full query text to run: prologue, parameters bound (defaults unless overridden), limit."""
    values = dict(values or {})
    declared = {p.name for p in query.params}
    bindings: dict[str, Node] = {}
    for param in query.params:
        if param.name in values:
            bindings[param.name] = bind_value(graph, values.pop(param.name))
        elif param.default is not None:
            bindings[param.name] = bind_value(graph, param.default)
    for name, text in values.items():
        if not re.fullmatch(r"\w+", name):
            raise UsageError(f"--param {name[:40]!r}: a parameter name is letters, digits and _")
        if not re.search(rf"[?$]{re.escape(name)}\b", query.text):
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--param {name}: the query has no variable ?{name} (declared parameters: {known})")
        bindings[name] = bind_value(graph, text)
    text = _insert_values(query.text, bindings) if bindings else query.text
    if limit is not None:
        if limit < 0:
            raise UsageError("--limit must be 0 or more")
        if not re.search(r"\bLIMIT\s+\d+", _strip_comments(text), re.IGNORECASE):
            text = f"{text.rstrip()}\nLIMIT {limit}\n"
    return sparql_prologue() + text


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _insert_values(text: str, bindings: dict[str, Node]) -> str:
    clause = " ".join(f"VALUES ?{name} {{ {term.n3()} }}" for name, term in bindings.items())
    # Find the outer WHERE group (or the first group of a WHERE-less query), skipping comment lines.
    # Comment lines are blanked (same length) so that positions found in the copy hold in ``text``.
    code = "".join(" " * len(line) if line.lstrip().startswith("#") else line
                   for line in text.splitlines(keepends=True))
    match = re.search(r"\bWHERE\s*\{", code, re.IGNORECASE) or re.search(r"\{", code)
    if match:
        return text[: match.end()] + f" {clause} " + text[match.end():]
    raise UsageError("cannot bind parameters: the query has no { … } group")


@dataclass
class QueryOutcome:
    """A query's answer: SELECT rows with their variables, an ASK boolean, or a CONSTRUCT/DESCRIBE graph."""

    kind: str
    variables: list[Variable] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None


def run_query(graph: Graph, text: str, timeout: float | None = None, *,
              allow_service: bool = False) -> QueryOutcome:
    """Run SPARQL ``text`` (with prologue) on ``graph``; raise QuerySyntaxError or QueryTimeout.

    The text passes ``kg.sparql_guard.check_query`` first (no SERVICE unless ``allow_service``, no
    FROM, no updates, within the budgets).
    """
    from kg.sparql_guard import check_query

    check_query(text, allow_service=allow_service)
    if timeout is not None and not (0 < timeout < float("inf")):  # also refuses NaN
        raise UsageError(f"--timeout must be a number of seconds above 0, not {timeout!r}")
    box: dict = {}

    def work():
        try:
            fast = getattr(graph.store, "answer_rows", None)  # kg.store's Oxigraph store
            if fast is not None:
                form, *answer = fast(text, dict(graph.namespaces()), graph.identifier)
            else:
                result = graph.query(text)
                form = result.type
                answer = ((list(result.vars or []), [tuple(row) for row in result]) if form == "SELECT" else
                          (bool(result.askAnswer),) if form == "ASK" else (result,))
            if form == "SELECT":
                box["outcome"] = QueryOutcome("SELECT", *answer)
            elif form == "ASK":
                box["outcome"] = QueryOutcome("ASK", boolean=answer[0])
            else:
                triples = Graph()
                for prefix, ns in PREFIXES.items():
                    triples.bind(prefix, ns, override=True)
                for triple in answer[0]:
                    triples.add(triple)
                box["outcome"] = QueryOutcome(form, graph=triples)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    if timeout is None:
        work()
    else:
        # A daemon thread: if the engine runs over, the caller reports it and the process may exit.
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise QueryTimeout(f"query stopped: it ran over the {timeout:g} s time limit")
    if "error" in box:
        raise _query_error(box["error"], text) from box["error"]
    return box["outcome"]


def _query_error(exc: BaseException, text: str) -> Exception:
    """One line for an engine's error, with positions counted in the user's text (after the prologue)."""
    if isinstance(exc, KgError):
        return exc
    user_lines = text.split("\n")[1:]
    message = " ".join(str(exc).split())
    line = column = None
    if hasattr(exc, "lineno") and hasattr(exc, "col") and getattr(exc, "msg", None):  # pyparsing (rdflib)
        line, column, message = exc.lineno - 1, exc.col, exc.msg
    else:
        match = re.search(r"error at (\d+):(\d+): (.*)", message)  # Oxigraph
        if match:
            line, column, message = int(match.group(1)) - 1, int(match.group(2)), match.group(3)
            if len(message) > 100:
                message = message[:97] + "…"
    if line is not None and 1 <= line <= len(user_lines):
        source_line = user_lines[line - 1]
        if "Prefix not found" in message:
            prefix = re.search(r"([A-Za-z][\w.-]*)?:[\w.-]*$", source_line[: max(column - 1, 0)])
            name = prefix.group(1) if prefix and prefix.group(1) else "?"
            return QuerySyntaxError(f"SPARQL error at line {line}, column {column}: unknown prefix {name}: "
                                    f"(predeclared: {', '.join(PREFIXES)})")
        near = source_line[max(column - 1, 0):].strip()[:40] or source_line.strip()[-40:] or "end of query"
        return QuerySyntaxError(f"SPARQL syntax error at line {line}, column {column}: {message}; near {near!r}")
    prefix = re.search(r"Unknown namespace prefix : (\S+)|Prefix not found", str(exc))
    if prefix:
        name = prefix.group(1) or "?"
        return QuerySyntaxError(f"SPARQL error: unknown prefix {name}: (predeclared: {', '.join(PREFIXES)})")
    if isinstance(exc, (SyntaxError,)) or "Expected" in message:
        return QuerySyntaxError(f"SPARQL syntax error: {message[:200]}")
    return QuerySyntaxError(f"SPARQL error: {message[:200]}")


# ---------------------------------------------------------------------------------------------------
# Result formats


SELECT_FORMATS = ("table", "csv", "tsv", "json", "md")


def format_select(outcome: QueryOutcome, fmt: str, graph: Graph | None = None) -> str:
    """SELECT rows as a text table, CSV/TSV/JSON (SPARQL 1.1 results formats) or a Markdown table."""
    names = [str(v) for v in outcome.variables]
    if fmt == "json":
        return json.dumps({"head": {"vars": names},
                           "results": {"bindings": [
                               {n: _json_term(t) for n, t in zip(names, row) if t is not None}
                               for row in outcome.rows]}}, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(names)
        for row in outcome.rows:
            writer.writerow(["" if t is None else str(t) for t in row])
        return out.getvalue()
    if fmt == "tsv":
        lines = ["\t".join(f"?{n}" for n in names)]
        lines += ["\t".join("" if t is None else _tsv_term(t) for t in row) for row in outcome.rows]
        return "\n".join(lines) + "\n"
    cells = [[_display(t, graph) for t in row] for row in outcome.rows]
    if fmt == "md":
        def esc(text):
            return text.replace("|", "\\|").replace("\n", " ")
        lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        return _text_table(names, cells) + f"\n({len(cells)} row{'s' if len(cells) != 1 else ''})\n"
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(SELECT_FORMATS)}")


def _json_term(term) -> dict:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype:
        out["datatype"] = str(term.datatype)
    return out


def _tsv_term(term) -> str:
    if isinstance(term, BNode):
        return f"_:{term}"
    return term.n3().replace("\t", "\\t")


def _display(term, graph: Graph | None) -> str:
    """A cell as a person reads it: prefixed names, plain literal text, @zh/@en dropped."""
    from kg.terminal import printable

    return printable(_plain(term, graph))


def _plain(term, graph: Graph | None) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        for prefix, ns in PREFIXES.items():
            if str(term).startswith(str(ns)) and re.fullmatch(r"[A-Za-z0-9_.\-]+", str(term)[len(str(ns)):]):
                return f"{prefix}:{str(term)[len(str(ns)):]}"
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return " ".join(str(term).split())


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two wide."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _text_table(names: list[str], rows: list[list[str]], max_cell: int = 60) -> str:
    def clip(text):
        if _width(text) <= max_cell:
            return text
        out = ""
        for ch in text:
            if _width(out + ch) > max_cell - 1:
                break
            out += ch
        return out + "…"

    rows = [[clip(c) for c in row] for row in rows]
    widths = [max([_width(n)] + [_width(row[i]) for row in rows]) for i, n in enumerate(names)]

    def line(cells):
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(names), line(["-" * w for w in widths])] + [line(r) for r in rows])
