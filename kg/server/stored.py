"""Stored answers (kg.answers) as ``/sparql`` answers: the answer ``kg load`` worked out for a query text,
served without running the query.

A ``--store`` keeps every stored query's whole default answer beside it, named by the digest of the
exact text run (prologue included). A ``/sparql`` request is answered from such a file when the text
the server would run is that text — or when the client sent that text itself: the server puts the
prologue in front of every query, and the prologue declared twice means what it means once — and
nothing else could make the engine's answer differ: no ``default-graph-uri`` / ``named-graph-uri``,
and no relative IRI in the text (the server resolves those against its own URL, ``kg load`` did not).
:func:`kg.answers.find_answer` then checks the file as ``kg query`` does (sealed, of this store's
content, of this text; ``KG_STORED_ANSWERS=0`` turns it off); anything else goes to the engine.

This is not a cache: the file is computed when the store is loaded, from the same data the workers
serve, and the rows go through the same writer (:mod:`kg.server.results`) as the engine's rows, with
the same row cap — the same bytes. Small files (:data:`INLINE_BYTES`) are read in the server process
itself, once, and their rows held there (:meth:`StoredAnswers.small`): writing a few hundred rows at
most is work bounded by the file's size, known before it starts, so no time limit is needed and no
worker is woken. Larger ones are read by a worker, under the time limit like any query.

>>> base_free("SELECT * { <https://x.org/a> ?p ?o FILTER(?o < 3) }")
True
>>> base_free("SELECT * { <a> ?p ?o }"), base_free("SELECT * { ?s ?p ?o FILTER(?o<3&&?s>2) }")
(False, False)
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

#: Stored answers up to this size (bytes of the file) are read in the server process, not a worker.
INLINE_BYTES = 64 * 1024
# An IRIREF token of SPARQL's grammar, and an IRI with a scheme (absolute).
_IRIREF = re.compile(r'<([^<>"{}|^`\\\x00-\x20]*)>')
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def base_free(text: str) -> bool:
    """Whether no IRI in ``text`` is relative (so the base IRI cannot change the answer). Conservative:
    ``<`` … ``>`` that only looks like an IRI (a comparison written without spaces) counts as relative."""
    return all(_ABSOLUTE.match(iri) for iri in _IRIREF.findall(text))


class StoredAnswers:
    """The stored answers of the store in ``directory`` (None: serving ``--data``, so none)."""

    def __init__(self, directory: str | None):
        from kg.answers import ANSWERS_DIR, enabled

        self.directory = directory
        self.digests: frozenset[str] = frozenset()
        self._small: dict = {}
        if directory and enabled():
            try:
                self.digests = frozenset(p.name[:-len(".jsonl")] for p in (Path(directory) / ANSWERS_DIR).glob("*.jsonl"))
            except OSError:
                pass

    def text_for(self, text: str, default_graphs=None, named_graphs=None) -> str | None:
        """The text whose stored answer answers the query ``text`` as sent (None: the engine must)."""
        if not self.digests or default_graphs is not None or named_graphs is not None:
            return None
        from kg.answers import query_digest

        full = prologue() + text
        for candidate in (full, text):
            if query_digest(candidate) in self.digests and base_free(candidate):
                return candidate
        return None

    def small(self, text: str) -> tuple | None:
        """``(variables, rows, total)`` of the stored answer of ``text`` when its file is small (at most
        :data:`INLINE_BYTES`), read and checked on first use and then held (the store cannot change
        while the server holds its read lock); None when it is larger, or not fit to use."""
        from kg.answers import answer_path, find_answer, query_digest

        digest = query_digest(text)
        if digest in self._small:
            return self._small[digest]
        found = None
        try:
            if os.stat(answer_path(self.directory, text)).st_size <= INLINE_BYTES:
                answer = find_answer(self.directory, text)
                if answer is not None:
                    found = (tuple(answer.variables), tuple(answer.rows()), answer.total)
        except OSError:
            pass
        self._small[digest] = found
        return found


@lru_cache(maxsize=1)
def prologue() -> str:
    """kg's predeclared prefixes (kg.project.sparql_prologue), which the server puts before every query
    (from kg.project, so that matching a request to a stored answer imports no rdflib into the server process)."""
    from kg.project import sparql_prologue
    return sparql_prologue()


def sparql_answer(directory: str, text: str, accept: str | None, max_rows: int) -> dict | None:
    """The ``/sparql`` answer (as :func:`kg.server.worker.sparql` gives it) from the stored answer of
    ``text`` on the store in ``directory``; None when there is none fit to use (the engine answers)."""
    from kg.answers import find_answer

    from kg.server import results

    answer = find_answer(directory, text)
    if answer is None:
        return None
    if results.negotiate(accept, "SELECT") == "json":  # the common format: written from the cells directly
        try:
            body, count = _json_body(answer.variables, answer.cells(), max_rows)
        finally:
            answer.close()
        return {"body": body, "media_type": results.SOLUTION_TYPES["json"], "truncated": answer.total > max_rows,
                "rows": count, "stored": True}
    try:
        rows = []
        for row in answer.rows():
            if len(rows) == max_rows:
                break
            rows.append(row)
    finally:
        answer.close()
    return answer_body(answer.variables, rows, answer.total, accept, max_rows)


_XSD = "http://www.w3.org/2001/XMLSchema#"


def _json_cell(cell) -> str:
    """One cell of a stored answer (kg.answers) as SPARQL Results JSON text: the same text
    :func:`kg.server.results._json_text` writes for the term the cell decodes to.

    >>> import pyoxigraph as ox
    >>> from kg.server.results import _json_text
    >>> cells = ["Ihttps://x.org/a", "Bb1", "S中", ["1.5", "^decimal"], ["en", "@en"], ["x", "https://x.org/t"]]
    >>> terms = [ox.NamedNode("https://x.org/a"), ox.BlankNode("b1"), ox.Literal("中"),
    ...          ox.Literal("1.5", datatype=ox.NamedNode(_XSD + "decimal")), ox.Literal("en", language="en"),
    ...          ox.Literal("x", datatype=ox.NamedNode("https://x.org/t"))]
    >>> [_json_cell(c) for c in cells] == [_json_text(t) for t in terms]
    True
    """
    from kg.server.results import _json_string

    if type(cell) is str:
        tag, value = cell[0], _json_string(cell[1:])
        kind = "uri" if tag == "I" else "bnode" if tag == "B" else "literal"
        return '{"type": "' + kind + '", "value": ' + value + "}"
    value, kind = cell
    if kind[0] == "@":
        return '{"type": "literal", "value": ' + _json_string(value) + ', "xml:lang": ' + _json_string(kind[1:]) + "}"
    datatype = _XSD + kind[1:] if kind[0] == "^" else kind
    return '{"type": "literal", "value": ' + _json_string(value) + ', "datatype": ' + _json_string(datatype) + "}"


def _json_body(variables: list[str], cells, max_rows: int) -> tuple[bytes, int]:
    """SPARQL Results JSON of the first ``max_rows`` rows of cells, byte for byte what
    :func:`kg.server.results.select_body` writes for the decoded rows; and how many rows it holds."""
    import json

    from kg.server.results import _json_string

    keys = [_json_string(v) + ": " for v in variables]
    written: dict = {}
    out = []
    for row in cells:
        if len(out) == max_rows:
            break
        parts = []
        for key, cell in zip(keys, row):
            if cell is None:
                continue
            marker = cell if type(cell) is str else (cell[0], cell[1])
            text = written.get(marker)
            if text is None:
                text = _json_cell(cell)
                if len(written) < 200_000:
                    written[marker] = text
            parts.append(key + text)
        out.append("{" + ", ".join(parts) + "}")
    head = json.dumps({"vars": list(variables)}, ensure_ascii=False)
    body = f'{{"head": {head}, "results": {{"bindings": [' + ",\n".join(out) + "]}}"
    return body.encode("utf-8"), len(out)


def answer_body(variables, rows, total: int, accept: str | None, max_rows: int) -> dict:
    """A SELECT answer of ``total`` rows (``rows``: at least the first ``max_rows``) in the format
    ``accept`` asks for, capped at ``max_rows``, written by the same code as the engine's answers."""
    from kg.server import results

    fmt = results.negotiate(accept, "SELECT")
    shown = rows[:max_rows] if len(rows) > max_rows else rows
    return {"body": results.select_body(list(variables), shown, fmt), "media_type": results.SOLUTION_TYPES[fmt],
            "truncated": total > max_rows, "rows": len(shown), "stored": True}
