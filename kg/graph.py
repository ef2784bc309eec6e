"""Loading the graph: the namespaces as rdflib's (their IRIs and the bundled files' paths are kept in
kg.project), and parsing files into rdflib.

This is the one place that reads RDF files. Everything else receives a graph.

>>> graph = load_graph()
>>> (KGD.Nvidia, RDFS.label, Literal("英伟达", lang="zh")) in graph
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from rdflib import Graph, Literal, Namespace
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from kg.errors import DataSyntaxError, UsageError
from kg.project import (FACTS_FILE, NAMESPACES, ONTOLOGY_FILE, PROJECT_ROOT, QUERIES_DIR, SHAPES_FILE,  # noqa: F401
                        SOURCE_DOCUMENT, bundled_files, sparql_prologue)

KG = Namespace(NAMESPACES["kg"])
KGD = Namespace(NAMESPACES["kgd"])
SCHEMA = Namespace(NAMESPACES["schema"])
ORG = Namespace(NAMESPACES["org"])
PROV = Namespace(NAMESPACES["prov"])
UNIT = Namespace(NAMESPACES["unit"])
WD = Namespace(NAMESPACES["wd"])
DCTERMS = Namespace(NAMESPACES["dcterms"])
FOAF = Namespace(NAMESPACES["foaf"])
SH = Namespace(NAMESPACES["sh"])

#: Prefixes predeclared for every SPARQL query and bound when serializing (kg.project.NAMESPACES).
PREFIXES: dict[str, Namespace] = {prefix: Namespace(iri) for prefix, iri in NAMESPACES.items()}

_FORMATS = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".json": "json-ld", ".rdf": "xml",
            ".xml": "xml", ".n3": "n3", ".trig": "trig", ".nq": "nquads"}


def new_graph(store: str = "default") -> Graph:
    """An empty graph with our prefixes bound; ``store`` is an rdflib store name ("default", "Oxigraph")."""
    graph = Graph(store=store)
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    return graph


def parse_file(graph: Graph, path: str | Path) -> Graph:
    """Parse one RDF file into ``graph``; raise a one-line error naming the file (and line, column)."""
    from kg import rdf_guard

    path = Path(path)
    rdf_guard.input_size(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: unknown RDF file type {path.suffix!r} (use .ttl, .nt, .jsonld, .rdf, .trig)")
    # Read once, check, and hand rdflib the checked bytes (never the path: it would resolve
    # contexts and entities itself). The base IRI stays the file's, as when rdflib opens it.
    data = rdf_guard.read_input(path)
    if fmt == "json-ld":
        rdf_guard.check_jsonld(data, path)
    elif fmt == "xml":
        rdf_guard.check_rdfxml(data, path)
    else:
        rdf_guard.check_turtle_depth(data, path)
    try:
        rdf_guard.with_deep_stack(graph.parse, data=data, format=fmt, publicID=path.resolve().as_uri())
    except UnicodeDecodeError as exc:
        raise DataSyntaxError(path, None, None, f"not UTF-8 text ({exc.reason})") from exc
    except RecursionError as exc:
        raise rdf_guard.UnsafeInputError(f"{path}: nested too deep for rdflib's parser "
                                         "(lower the nesting, or raise KG_MAX_DEPTH)") from exc
    except Exception as exc:  # rdflib's parsers raise many unrelated types; each becomes one line.
        raise _syntax_error(path, exc) from exc
    return graph


def _syntax_error(path: Path, exc: Exception) -> DataSyntaxError:
    text, offset = getattr(exc, "_str", None), getattr(exc, "_i", None)
    if isinstance(text, (bytes, str)) and isinstance(offset, int):  # rdflib's Turtle/N3 BadSyntax
        newline = b"\n" if isinstance(text, bytes) else "\n"
        line = text.count(newline, 0, offset) + 1
        start = text.rfind(newline, 0, offset) + 1
        prefix = text[start:offset]
        column = len(prefix.decode("utf-8", "replace") if isinstance(prefix, bytes) else prefix) + 1
        return DataSyntaxError(path, line, column, getattr(exc, "_why", "bad syntax"))
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return DataSyntaxError(path, getattr(exc, "lineno", None), getattr(exc, "offset", None), detail)


def load_graph(extra: Iterable[str | Path] = (), *, bundled: bool = True, store: str = "default") -> Graph:
    """The bundled graph (ontology + facts) plus the user's ``extra`` files, in a new graph.

    ``store="default"`` is rdflib's in-memory store (what pyshacl and owlrl need); ``store="oxigraph"``
    parses the files straight into an in-memory Oxigraph store (kg.store), the fast query path.
    """
    if store.lower() == "oxigraph":
        from kg.store import load_oxigraph
        return load_oxigraph((bundled_files() if bundled else []) + [Path(p) for p in extra])
    graph = new_graph(store)
    for path in (bundled_files() if bundled else []) + [Path(p) for p in extra]:
        parse_file(graph, path)
    return graph


def subclasses(graph: Graph, root) -> set:
    """``root`` and every class below it (rdfs:subClassOf, transitively) in the ontology loaded into ``graph``.

    >>> KG.InvestmentTranche in subclasses(load_graph(), KG.Deal)
    True
    """
    found, frontier = {root}, [root]
    while frontier:
        for sub in graph.subjects(RDFS.subClassOf, frontier.pop()):
            if sub not in found:
                found.add(sub)
                frontier.append(sub)
    return found
