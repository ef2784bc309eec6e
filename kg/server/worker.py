"""A query worker: a process that holds the graph and answers jobs, one at a time, until it is killed.

The server (``kg.server.pool``) starts several; each loads the bundled data and ``--data`` files into
its own in-memory Oxigraph store, or opens the persistent ``--store`` read-only. A job is
``(name, arguments)`` sent over a pipe; the answer is ``("ok", value)`` or ``("error", status,
message)``. A job that runs past the time limit is not asked to stop: the server kills the whole process
and starts another, which is the only way to stop an engine that is busy in native code.

Jobs (the ``JOBS`` table) are plain functions of the graph: a SPARQL request, a stored query, and the
analyses the pages and the JSON API show, each through the same library function as the CLI.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from functools import lru_cache
from pathlib import Path

from kg.errors import KgError, NoResultsError, QuerySyntaxError, UnknownEntityError, UnknownQueryError


def open_source(source: dict):
    """The graph a worker serves: ``{"store": DIR}`` opened read-only, or ``{"data": [FILES]}`` in memory."""
    if source.get("store"):
        from kg.store import open_store
        return open_store(source["store"])
    from kg.graph import load_graph
    return load_graph(source.get("data", []), store="oxigraph")


def data_fingerprint(source: dict) -> tuple:
    """What the data a worker loads looks like on disk now (paths, sizes, modification times).

    The server's answer cache is only right while every worker answers from the same data: a worker
    started later (after a timeout killed one) that sees a different fingerprint means a file changed
    meanwhile, and the server then empties its cache. A ``--store`` cannot change while the server
    holds its read lock; its manifest and database folder are compared all the same.
    """
    if source.get("store"):
        from kg.store import DATABASE_NAME, MANIFEST_NAME
        paths = [Path(source["store"]) / MANIFEST_NAME, Path(source["store"]) / DATABASE_NAME]
    else:
        from kg.graph import bundled_files
        paths = [*bundled_files(), *map(Path, source.get("data", []))]
    marks = []
    for path in paths:
        try:
            found = path.stat()
            marks.append((str(path), found.st_size, found.st_mtime_ns))
        except OSError:
            marks.append((str(path), None, None))
    return tuple(marks)


#: What this worker serves (set by :func:`main`): jobs look for the store's stored answers there.
_served: dict = {}


def main(conn, source: dict) -> None:
    """The worker's loop: load, say ready, then answer jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us
    _served.update(source)
    try:
        graph = open_source(source)
    except KgError as exc:
        conn.send(("failed", str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - reported to the server as one line
        conn.send(("failed", f"cannot load the data ({type(exc).__name__})"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            name, arguments = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            answer = ("ok", JOBS[name](graph, **arguments))
        except KgError as exc:
            answer = ("error", status_of(exc), str(exc))
        except Exception:  # noqa: BLE001 - the details go to the server's log, never to the client
            traceback.print_exc(file=sys.stderr)
            answer = ("error", 500, "internal error while answering (the server log has the details)")
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


def status_of(exc: KgError) -> int:
    """The HTTP status for one of the project's exceptions."""
    status = getattr(exc, "status", None)
    if status:
        return status
    if isinstance(exc, (UnknownEntityError, UnknownQueryError, NoResultsError)):
        return 404
    return 400


# --------------------------------------------------------------------------------------------------
# Jobs


def sparql(graph, text: str, accept: str | None = None, default_graphs=None, named_graphs=None,
           max_rows: int = 10_000, base_iri: str | None = None) -> dict:
    """A SPARQL protocol request: the answer as bytes in the negotiated format, capped at ``max_rows``.

    Relative IRIs in the query resolve against ``base_iri`` (the endpoint's URL, as the protocol allows).
    """
    import pyoxigraph as ox

    from kg.queries import _query_error
    from kg.server import results
    from kg.server.guard import checked_query
    from kg.server.stored import prologue

    full = prologue() + checked_query(text)
    stored = _stored_answers()
    candidate = stored.text_for(text, default_graphs, named_graphs)
    if candidate is not None:  # kept with the --store by kg load (kg.server.stored): no query to run
        from kg.server.stored import sparql_answer

        found = sparql_answer(stored.directory, candidate, accept, max_rows)
        if found is not None:
            return found
    dataset = {}
    try:
        if default_graphs is not None or named_graphs is not None:
            dataset["default_graph"] = [ox.NamedNode(u) for u in default_graphs or []]
            dataset["named_graphs"] = [ox.NamedNode(u) for u in named_graphs or []]
    except ValueError as exc:
        raise QuerySyntaxError(f"invalid graph IRI in default-graph-uri or named-graph-uri: {exc}") from exc
    try:
        answer = graph.store._inner.query(full, base_iri=base_iri, **dataset)
        truncated = False
        if isinstance(answer, ox.QuerySolutions):
            names = [v.value for v in answer.variables]
            rows = []
            for solution in answer:
                if len(rows) == max_rows:
                    truncated = True
                    break
                rows.append(tuple(solution))
            fmt = results.negotiate(accept, "SELECT")
            body, media = results.select_body(names, rows, fmt), results.SOLUTION_TYPES[fmt]
        elif isinstance(answer, ox.QueryBoolean):
            fmt = results.negotiate(accept, "ASK")
            body, media, rows = results.boolean_body(bool(answer), fmt), results.BOOLEAN_TYPES[fmt], [1]
        else:
            rows = []
            for triple in answer:
                if len(rows) == max_rows:
                    truncated = True
                    break
                rows.append(triple)
            fmt = results.negotiate(accept, "CONSTRUCT")
            body, media = results.graph_body(rows, fmt), results.GRAPH_TYPES[fmt]
    except (SyntaxError, ValueError, OSError, RuntimeError) as exc:
        raise _query_error(exc, full) from exc
    return {"body": body, "media_type": media, "truncated": truncated, "rows": len(rows)}


@lru_cache(maxsize=1)
def _stored_by_name() -> dict:
    """The stored queries by name, read once per worker (it serves the queries it started with)."""
    from kg.queries import stored_queries
    return {q.name: q for q in stored_queries()}


@lru_cache(maxsize=1)
def _stored_answers():
    """The stored answers of the store this worker serves (none for ``--data``), listed once."""
    from kg.server.stored import StoredAnswers
    return StoredAnswers(_served.get("store"))


def stored(graph, name: str, values: dict | None = None, fmt: str = "rows", max_rows: int = 10_000) -> dict:
    """A stored query with its parameters bound (as ``kg query NAME --param …``).

    ``fmt`` "csv" or "json" gives the body ``kg query --format csv|json`` prints; "rows" gives cells
    for an HTML table: ``(text, entity name or None)``.
    """
    from kg.graph import KGD
    from kg.queries import _display, format_select, prepare_query, run_query
    from kg.server.guard import checked_query

    # Only the stored queries by name: never a path or text from the URL.
    query = _stored_by_name().get(name)
    if query is None:
        raise UnknownQueryError(f"no stored query named {name!r}")
    text = checked_query(prepare_query(graph, query, values or {}))
    found = _stored_select(graph, text, max_rows)
    if found is not None:
        outcome, truncated = found
    else:
        outcome = run_query(graph, text)
        if outcome.kind != "SELECT":
            raise QuerySyntaxError(f"{name} is not a SELECT query")
        truncated = len(outcome.rows) > max_rows
        outcome.rows = outcome.rows[:max_rows]
    answer = {"truncated": truncated, "count": len(outcome.rows), "variables": [str(v) for v in outcome.variables]}
    if fmt in ("csv", "json"):
        answer["body"] = format_select(outcome, fmt, graph)
        return answer
    cells = []
    for row in outcome.rows:
        line = []
        for term in row:
            entity = str(term)[len(str(KGD)):] if term is not None and str(term).startswith(str(KGD)) else None
            line.append((_display(term, graph), entity))
        cells.append(line)
    answer["rows"] = cells
    return answer


def _stored_select(graph, text: str, max_rows: int):
    """``(outcome, truncated)`` from the stored answer of ``text`` kept with the ``--store`` (kg.answers),
    its first ``max_rows`` rows as rdflib terms (as ``kg query`` reads it); None when the engine must answer."""
    directory = _served.get("store")
    if not directory:
        return None
    from itertools import islice

    from kg.answers import stored_outcome

    found = stored_outcome(directory, graph, text)
    if found is None:
        return None
    outcome, answer = found
    try:
        outcome.rows = list(islice(outcome.rows, max_rows))
    finally:
        answer.close()
    return outcome, answer.total > max_rows


def entity(graph, name: str) -> dict:
    """``kg show NAME --format json``."""
    from kg.reports import entity_report
    return entity_report(graph, name)


def trace(graph, source: str, target: str | None = None, **options) -> dict:
    """``kg trace FROM [TO] --format json``."""
    from kg.reports import trace_report
    return trace_report(graph, source, target, **options)


def cycles(graph, **options) -> dict:
    """``kg cycles --format json``."""
    from kg.reports import cycles_report
    return cycles_report(graph, **options)


def cycles_page(graph, **options) -> dict:
    """``kg cycles`` with the names of the loops the source itself describes (for the HTML page)."""
    from rdflib import URIRef

    from kg.entities import display_name

    report = cycles(graph, **options)
    names = {a: display_name(graph, URIRef(a)) for c in report["cycles"] for a in c["arrangements"]}
    return {"report": report, "arrangement_names": names}


def flows(graph, entity: str | None = None, **options) -> dict:
    """``kg flows [ENTITY] --format json``."""
    from kg.reports import flows_report
    return flows_report(graph, entity, **options)


def web(graph, **options) -> dict:
    """The page ``kg viz`` writes, from the same code (kg.viz.build)."""
    from kg.viz import build

    drawn = build(graph, **options)
    return {"html": drawn.html, "note": drawn.note}


def entity_names(graph) -> list[tuple[str, str, str]]:
    """Organizations and people as ``(English name, Chinese name, key)``, for the pages' name lists."""
    from kg.graph import KGD

    query = """SELECT ?e (SAMPLE(?en) AS ?english) (SAMPLE(?zh) AS ?chinese) WHERE {
      { ?e a/rdfs:subClassOf* kg:Organization } UNION { ?e a kg:Person }
      OPTIONAL { ?e rdfs:label ?en FILTER(lang(?en) = "en") }
      OPTIONAL { ?e rdfs:label ?zh FILTER(lang(?zh) = "zh") }
      FILTER(STRSTARTS(STR(?e), STR(kgd:)))
    } GROUP BY ?e ORDER BY LCASE(STR(?english)) LIMIT 500"""
    from kg.graph import sparql_prologue
    out = []
    for row in graph.store._inner.query(sparql_prologue() + query):
        key = row["e"].value[len(str(KGD)):]
        english = row["english"].value if row["english"] is not None else key
        chinese = row["chinese"].value if row["chinese"] is not None else ""
        out.append((english, chinese, key))
    return out


JOBS = {"sparql": sparql, "stored": stored, "entity": entity, "trace": trace, "cycles": cycles,
        "cycles_page": cycles_page, "flows": flows, "web": web, "entity_names": entity_names}
