"""Stored answers: every stored query's complete answer, worked out once when a persistent store is
loaded, and kept beside it (a materialized view).

At 100k deals the stored queries that list every deal take the engine 5-30 s, most of it sorting the
whole answer for its ORDER BY, so even the first page of a table cannot come sooner. ``kg load`` (and
every refresh of a store) therefore runs each stored query (``queries/*.rq``) with its default
parameters and writes its whole answer to ``answers/<digest>.jsonl`` in the store's directory, where
``<digest>`` is the SHA-256 of the exact query text run (prologue and bound parameters included).
``kg query`` on a ``--store`` looks for the file of the text it would run: found, and fit, the answer
is read from it (a table's first page and the count of the rest without reading every row; CSV, TSV
and JSON row by row, in constant memory); otherwise the engine runs the query as always. An edited
query, another ``--param``, typed-in text or a .rq file give another text, so another digest.

A file is used only when all of these hold, else it is ignored (and the engine answers):
it is whole and sealed with this user's key (kg.sealed), its header names the store content it was
computed from (kg.store.content_key of the present manifest) and the same query text, and it is
of this version. ``KG_STORED_ANSWERS=0`` ignores every file (the engine answers; tests compare the two).

The file: a JSON header line (format, version, content key, query digest, query name, variables), one
JSON array per row, a line ``{"rows": N}`` and the seal line. A cell is null (unbound), ``"I<iri>"``,
``"B<blank node id>"``, ``"S<string>"`` (an xsd:string literal), or ``[text, "@lang"]``, ``[text,
"^name"]`` (an XSD datatype) or ``[text, "<datatype IRI>"]``. Cells decode to the pyoxigraph terms the
engine gave, which then go through the same conversion and output code as the engine's rows
(:class:`kg.queries.Rows`): the output is the same byte for byte. Only SELECT answers are stored (an
ASK or CONSTRUCT query is left to the engine).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import NamedTuple

#: Folder of the stored answers inside a store directory.
ANSWERS_DIR = "answers"
#: Marker file in a store directory: the user asked for no stored answers (``kg load --no-answers``).
OFF_NAME = "no-answers"
_FORMAT, _VERSION = "kg-answer", 1
_XSD = "http://www.w3.org/2001/XMLSchema#"


def query_digest(text: str) -> str:
    """The digest naming a query text's stored answer.

    >>> query_digest("SELECT * {}") == query_digest("SELECT * {}") != query_digest("SELECT * { }")
    True
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer_path(directory: str | Path, text: str) -> Path:
    return Path(directory) / ANSWERS_DIR / f"{query_digest(text)}.jsonl"


def enabled() -> bool:
    """Whether kg may read stored answers (``KG_STORED_ANSWERS=0`` says no)."""
    return os.environ.get("KG_STORED_ANSWERS", "1").strip().lower() not in ("0", "no", "off", "false")


def wanted(directory: str | Path) -> bool:
    """Whether the store in ``directory`` keeps stored answers (not turned off with ``--no-answers``)."""
    return not (Path(directory) / OFF_NAME).exists()


def set_wanted(directory: str | Path, keep: bool) -> None:
    """Turn the store's stored answers on or off; off removes the files there are."""
    directory = Path(directory)
    marker = directory / OFF_NAME
    if keep:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text("kg keeps no stored answers for this store (kg load --no-answers)\n", encoding="utf-8")
        shutil.rmtree(directory / ANSWERS_DIR, ignore_errors=True)


# --------------------------------------------------------------------------- writing

def _encode(term) -> object:
    """A pyoxigraph term as a cell of the file (see the module docstring).

    >>> import pyoxigraph as ox
    >>> [_encode(t) for t in (ox.NamedNode("https://x.org/a"), ox.Literal("中", language="zh"),
    ...                       ox.Literal("1.5", datatype=ox.NamedNode(_XSD + "decimal")), ox.Literal("a"), None)]
    ['Ihttps://x.org/a', ['中', '@zh'], ['1.5', '^decimal'], 'Sa', None]
    """
    if term is None:
        return None
    import pyoxigraph as ox

    kind = type(term)
    if kind is ox.NamedNode:
        return "I" + term.value
    if kind is ox.BlankNode:
        return "B" + term.value
    if kind is not ox.Literal:
        raise ValueError(f"cannot store a {kind.__name__} term")  # RDF-star triples: left to the engine
    if term.language:
        return [term.value, "@" + term.language]
    datatype = term.datatype.value
    if datatype == _XSD + "string":
        return "S" + term.value
    if datatype.startswith(_XSD):
        return [term.value, "^" + datatype[len(_XSD):]]
    return [term.value, datatype]


def _lines(key: str, name: str, text: str, variables: list[str], rows):
    yield json.dumps({"format": _FORMAT, "version": _VERSION, "key": key, "query": query_digest(text),
                      "name": name, "variables": variables}, ensure_ascii=False) + "\n"
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row in rows:
        yield dumps([_encode(term) for term in row]) + "\n"
        count += 1
    yield json.dumps({"rows": count}) + "\n"


class BuildReport(NamedTuple):
    """What :func:`build_answers` stored: how many answers, of how many rows, in how many seconds."""

    answers: int
    rows: int
    seconds: float


def build_answers(directory: str | Path, graph=None, queries=None) -> BuildReport:
    """Run every stored query (or each of ``queries``, kg.queries.StoredQuery) with its default
    parameters on the store in ``directory`` (opened read-only unless ``graph`` is it) and keep each
    SELECT's whole answer beside the store, sealed; answers of other content or other queries are removed."""
    from kg.errors import KgError
    from kg.store import content_key
    from kg.queries import prepare_query, run_query, stored_queries
    from kg.sealed import computed_from, write_sealed

    started = time.perf_counter()
    directory = Path(directory)
    graph, manifest = computed_from(directory, graph)
    key = content_key(manifest)
    folder = directory / ANSWERS_DIR
    folder.mkdir(exist_ok=True)
    kept, rows = set(), 0
    for query in stored_queries() if queries is None else queries:
        text = prepare_query(graph, query, {}, None)
        path = answer_path(directory, text)
        try:
            outcome = run_query(graph, text, stream=True)
            if outcome.kind != "SELECT":
                continue
            counted = _Counted(outcome.rows.raw())
            write_sealed(path, _lines(key, query.name, text, [str(v) for v in outcome.variables], counted))
        except (ValueError, KgError):  # a term the file cannot hold, a failing query: not stored
            continue
        kept.add(path.name)
        rows += counted.count
    for leftover in folder.iterdir():
        if leftover.name not in kept:
            leftover.unlink(missing_ok=True)
    return BuildReport(len(kept), rows, time.perf_counter() - started)


class _Counted:
    def __init__(self, rows):
        self._rows, self.count = rows, 0

    def __iter__(self):
        for row in self._rows:
            self.count += 1
            yield row


def ensure_answers(directory: str | Path) -> BuildReport | None:
    """Build the store's stored answers unless they are turned off or all there and fit its content;
    the report of the build, or None when nothing was built.

    A store stays usable without them (the engine answers), so a failure to compute or write them is
    not an error here.
    """
    if not wanted(directory) or _all_fresh(directory):
        return None
    try:
        return build_answers(directory)
    except Exception:  # noqa: BLE001 - see above
        return None


def _all_fresh(directory: str | Path) -> bool:
    """Whether every stored query's default answer is stored and fits the store's present content."""
    from kg.query_files import default_text, stored_queries

    folder = Path(directory) / ANSWERS_DIR
    if not folder.is_dir():
        return False
    try:
        from kg.store import content_key, read_manifest
        key = content_key(read_manifest(directory))
        heads = {}
        for path in folder.glob("*.jsonl"):
            with path.open("rb") as handle:
                head = json.loads(handle.readline())
            heads[head.get("name")] = head
        # Texts need no graph to prepare when the defaults are IRIs; with another default, the answers
        # are fresh if a file for each query has this content key.
        for query in stored_queries():
            head = heads.get(query.name)
            if head is None or head.get("key") != key or head.get("version") != _VERSION:
                return False
            text = default_text(query)
            if text is not None and head.get("query") != query_digest(text):
                return False
        return True
    except Exception:  # noqa: BLE001 - anything odd: rebuild
        return False


# --------------------------------------------------------------------------- reading

class StoredAnswer:
    """A stored answer found fit for a query text: its ``variables``, its number of rows (``total``),
    and :meth:`rows`, the raw pyoxigraph rows read one at a time from the open file."""

    def __init__(self, handle, variables: list[str], total: int, body_end: int):
        self._handle, self.variables, self.total, self._end = handle, variables, total, body_end

    def rows(self):
        import pyoxigraph as ox

        named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal
        datatypes: dict = {}
        cache: dict = {}

        def decode(cell):
            if cell is None:
                return None
            if type(cell) is str:
                term = cache.get(cell)
                if term is None:
                    tag, value = cell[0], cell[1:]
                    term = named(value) if tag == "I" else blank(value) if tag == "B" else literal(value)
                    if len(cache) < 200_000:
                        cache[cell] = term
                return term
            value, kind = cell
            if kind[0] == "@":
                return literal(value, language=kind[1:])
            datatype = datatypes.get(kind)
            if datatype is None:
                datatype = datatypes[kind] = named(_XSD + kind[1:] if kind[0] == "^" else kind)
            return literal(value, datatype=datatype)

        loads = json.loads
        handle = self._handle
        try:
            for _ in range(self.total):
                yield tuple(decode(cell) for cell in loads(handle.readline()))
        finally:
            handle.close()

    def cells(self):
        """The rows left as the file holds them (lists of cells, see the module docstring), without
        making terms: for writers that turn cells straight into text (kg.server.stored)."""
        loads, handle = json.loads, self._handle
        try:
            for _ in range(self.total):
                yield loads(handle.readline())
        finally:
            handle.close()

    def close(self) -> None:
        self._handle.close()


def stored_outcome(directory: str | Path, graph, text: str):
    """``(outcome, answer)``: the stored answer of ``text`` as a :class:`kg.queries.QueryOutcome` whose rows
    are read from the file and made into rdflib terms as the engine's are (graph: the store's graph, for
    its term conversion), and the :class:`StoredAnswer` (its ``total``; ``close()`` it when done); None
    when the engine must answer."""
    convert = getattr(graph.store, "rdf_term", None)
    answer = find_answer(directory, text) if convert is not None else None
    if answer is None:
        return None
    from rdflib import Variable

    from kg.queries import QueryOutcome, Rows

    return (QueryOutcome("SELECT", [Variable(v) for v in answer.variables],
                         Rows(answer.rows(), convert, total=answer.total)), answer)


#: Stored answers up to this size (bytes of the file) can be written as CSV with no rdflib (:func:`small_csv`).
SMALL_CSV_BYTES = 1 << 20


def small_csv(directory: str | Path, text: str) -> str | None:
    r"""The CSV ``kg query --format csv`` writes for query ``text`` on the store in ``directory``, made
    from its stored answer alone: when there is one fit to use (:func:`find_answer`), its file is at most
    :data:`SMALL_CSV_BYTES`, and every cell's CSV text is the text the file holds (IRIs, blank nodes,
    strings, language-tagged strings and the literals of kg.project.SAME_TEXT_DATATYPES; other
    literals need rdflib's view of them). None otherwise: the caller goes the usual way.

    >>> [_csv_text(c) for c in ("Ihttps://x.org/a", "S中", ["7", "^integer"], ["en", "@en"], None)]
    ['https://x.org/a', '中', '7', 'en', None]
    """
    try:
        if os.stat(answer_path(directory, text)).st_size > SMALL_CSV_BYTES:
            return None
    except OSError:
        return None
    answer = find_answer(directory, text)
    if answer is None:
        return None
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as kg.queries.iter_select_text
    writer.writerow(answer.variables)
    try:
        for cells in answer.cells():
            texts = [_csv_text(cell) for cell in cells]
            if any(t is not None for t in texts):
                writer.writerow(["" if t is None else t for t in texts])
    except _NeedsRdflib:
        return None
    finally:
        answer.close()
    return out.getvalue()


class _NeedsRdflib(Exception):
    """A cell whose CSV text is rdflib's ``str`` of the term, not the text the file holds."""


def _csv_text(cell) -> str | None:
    from kg.project import SAME_TEXT_DATATYPES

    if cell is None:
        return None
    if type(cell) is str:
        return cell[1:]  # an IRI, a blank node, an xsd:string: its value
    value, kind = cell
    if kind[0] == "@" or (_XSD + kind[1:] if kind[0] == "^" else kind) in SAME_TEXT_DATATYPES:
        return value
    raise _NeedsRdflib(kind)


def find_answer(directory: str | Path, text: str) -> StoredAnswer | None:
    """The stored answer of query ``text`` (with prologue, as run) on the store in ``directory``, or
    None when there is none that can be trusted to be the engine's answer now (see the module docstring)."""
    if not enabled():
        return None
    from kg.errors import KgError
    from kg.sealed import sealed_length
    from kg.store import content_key, read_manifest

    path = answer_path(directory, text)
    try:
        handle = open(path, "rb")
    except OSError:
        return None
    try:
        manifest = read_manifest(directory)
        end = sealed_length(handle)
        if manifest is None or end is None:
            raise ValueError("not sealed")
        handle.seek(max(0, end - 256))
        trailer = json.loads(handle.read(end - handle.tell()).rstrip(b"\n").rpartition(b"\n")[2])
        handle.seek(0)
        head = json.loads(handle.readline())
        total = trailer["rows"]
        if (head.get("format") != _FORMAT or head.get("version") != _VERSION or head.get("key") != content_key(manifest)
                or head.get("query") != query_digest(text) or not isinstance(total, int) or total < 0
                or not isinstance(head.get("variables"), list)):
            raise ValueError("not this store's answer to this query")
        return StoredAnswer(handle, [str(v) for v in head["variables"]], total, end)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, KgError):
        handle.close()
        return None
