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

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.term import Node

from kg.errors import KgError, QuerySyntaxError, QueryTimeout, UnknownEntityError, UsageError
from kg.graph import PREFIXES
# Query files and their texts need no rdflib (kg.query_files); their names stay importable from here.
from kg.query_files import (StoredQuery, find_query, query_text, read_query_text, stored_queries,  # noqa: F401
                            written_iri)


def bind_value(graph: Graph, text: str) -> Node:
    """A parameter value as an RDF term: an IRI (<...>, prefixed name, or entity name) or a literal.

    Quoted text ("...") is always a string literal; numbers become xsd:integer or xsd:decimal.
    """
    from kg.entities import resolve_entity

    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return Literal(text[1:-1])
    iri = written_iri(text)  # <IRI> or a prefixed name
    if iri is not None:
        return URIRef(iri)
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
    return query_text(query, {name: term.n3() for name, term in bindings.items()}, limit)


@dataclass
class QueryOutcome:
    """A query's answer: SELECT rows with their variables, an ASK boolean, or a CONSTRUCT/DESCRIBE graph."""

    kind: str
    variables: list[Variable] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None


def run_query(graph: Graph, text: str, timeout: float | None = None, *,
              allow_service: bool = False, stream: bool = False) -> QueryOutcome:
    """Run SPARQL ``text`` (with prologue) on ``graph``; raise QuerySyntaxError or QueryTimeout.

    The text passes ``kg.sparql_guard.check_query`` first (no SERVICE unless ``allow_service``, no
    FROM, no updates, within the budgets). With ``stream`` a SELECT's ``rows`` are :class:`Rows`, read
    once as the engine yields them (constant memory, unless the query itself sorts or groups
    everything), instead of a list.
    """
    from kg.sparql_guard import check_query

    check_query(text, allow_service=allow_service)
    if timeout is not None and not (0 < timeout < float("inf")):  # also refuses NaN
        raise UsageError(f"--timeout must be a number of seconds above 0, not {timeout!r}")
    box: dict = {}

    def work():
        try:
            fast = getattr(graph.store, "answer_rows", None)  # kg.store's Oxigraph store, kg.remote's store
            if stream and getattr(graph.store, "raw_answer", None) is not None:  # kg.store's only
                raw, rdf = graph.store.raw_answer(text, dict(graph.namespaces()), graph.identifier), graph.store.rdf_term
                names = getattr(raw, "variables", None)
                if names is not None:  # a SELECT: its rows are read later
                    box["outcome"] = QueryOutcome("SELECT", [Variable(v.value) for v in names], Rows(raw, rdf))
                    return
                import pyoxigraph

                form, answer = (("ASK", (bool(raw),)) if isinstance(raw, pyoxigraph.QueryBoolean) else
                                ("CONSTRUCT", (((rdf(t.subject), rdf(t.predicate), rdf(t.object)) for t in raw),)))
            elif fast is not None:
                form, *answer = fast(text, dict(graph.namespaces()), graph.identifier)
                if stream and form == "SELECT":  # read whole (a remote answer arrives whole), handed out as Rows
                    box["outcome"] = QueryOutcome("SELECT", answer[0], Rows(answer[1]))
                    return
            else:
                result = graph.query(text)
                form = result.type
                if stream and form == "SELECT":
                    box["outcome"] = QueryOutcome("SELECT", list(result.vars or []),
                                                  Rows(tuple(row) for row in result))
                    return
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


class Rows:
    """A SELECT's rows as the engine yields them, read once: iterating gives tuples of rdflib terms
    (None where unbound). From Oxigraph, ``convert`` turns its terms into rdflib's, and rows with no
    variable bound are skipped, as rdflib's Result skips them (so both engines give the same rows).

    >>> rows = Rows(iter([(1,), (2,), (3,), (4,)]))
    >>> next(rows), rows.count_rest()
    ((1,), (3, True))
    """

    def __init__(self, rows, convert=None, total: int | None = None):
        self._rows = iter(rows)
        self._convert = convert
        self._total, self._taken = total, 0  # total: how many rows there are, when known (kg.answers)

    def __iter__(self):
        return self

    def __next__(self) -> tuple:
        convert = self._convert
        self._taken += 1
        if convert is None:
            return next(self._rows)
        while True:
            row = tuple(None if term is None else convert(term) for term in next(self._rows))
            if any(term is not None for term in row):
                return row

    def raw(self):
        """The rows left as the engine gives them (its own terms, not converted), without the rows that
        have no variable bound."""
        check = self._convert is not None
        for row in self._rows:
            if not check or any(term is not None for term in row):
                yield tuple(row)

    def texts(self):
        """The rows left, each term as ``str()`` of its rdflib term (None where unbound), as CSV writes
        them. From Oxigraph, IRIs, blank nodes and literals whose text rdflib keeps as it is (strings,
        integers, decimals ... : kg.bulk's rule) are not made into rdflib terms first."""
        convert = self._convert
        if convert is None:
            for row in self:
                yield tuple(None if term is None else str(term) for term in row)
            return
        import pyoxigraph as ox

        from kg.bulk import _SAME_TEXT

        direct, literal = (ox.NamedNode, ox.BlankNode), ox.Literal
        same = {ox.NamedNode(iri) for iri in _SAME_TEXT}

        def text(term):
            kind = type(term)
            if kind in direct or (kind is literal and term.datatype in same):
                return term.value
            return str(convert(term))
        for row in self._rows:
            texts = tuple(None if term is None else text(term) for term in row)
            if any(t is not None for t in texts):
                yield texts

    def count_rest(self, seconds: float | None = None) -> tuple[int, bool]:
        """(how many rows are left, whether that is all of them): counted without converting the
        rows' terms, for at most about ``seconds`` (None: no limit)."""
        import time

        if self._total is not None:
            return max(0, self._total - self._taken), True
        deadline = None if seconds is None else time.monotonic() + seconds
        count, check = 0, self._convert is not None
        for row in self._rows:
            if check and all(term is None for term in row):
                continue
            count += 1
            if deadline is not None and not count % 4096 and time.monotonic() > deadline:
                return count, False
        return count, True


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
#: Formats written row by row as the engine yields them (:func:`iter_select_text`).
STREAMED_FORMATS = ("csv", "tsv", "json")
#: Rows a table shows unless told otherwise (as Datasette's ``max_returned_rows``).
PAGE_ROWS = 1000
#: How long a paged table goes on counting the rows it does not show before it says "at least".
COUNT_SECONDS = 5.0


def format_select(outcome: QueryOutcome, fmt: str, graph: Graph | None = None, page: int | None = None) -> str:
    """SELECT rows as a text table, CSV/TSV/JSON (SPARQL 1.1 results formats) or a Markdown table.

    With ``page`` a table shows the first ``page`` rows only, and says how many more there are and
    how to get them all (the rest are counted, not formatted).
    """
    names = [str(v) for v in outcome.variables]
    if fmt in STREAMED_FORMATS:
        return "".join(iter_select_text(outcome.variables, outcome.rows, fmt))
    if fmt == "table" and page is not None:
        rows = iter(outcome.rows)
        shown = [row for _, row in zip(range(page), rows)]
        rest, complete = rows.count_rest(COUNT_SECONDS) if isinstance(rows, Rows) else (sum(1 for _ in rows), True)
        table = _text_table(names, _cells(shown))
        if not rest:
            return table + f"\n({_rows_text(len(shown))})\n"
        more = f"{rest:,} more" if complete else f"at least {rest:,} more"
        return (table + f"\n(first {len(shown):,} rows shown; {more} not shown: "
                "--limit 0 shows them all, --format csv writes them all)\n")
    cells = _cells(outcome.rows)
    if fmt == "md":
        def esc(text):
            return text.replace("|", "\\|").replace("\n", " ")
        lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        return _text_table(names, cells) + f"\n({_rows_text(len(cells))})\n"
    raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(SELECT_FORMATS)}")


def _rows_text(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def iter_select_text(variables, rows, fmt: str):
    r"""CSV, TSV or JSON (SPARQL 1.1 results formats) of SELECT ``rows``, in pieces as the rows come
    (``rows`` may be :class:`Rows`): joined, the pieces are exactly what :func:`format_select` gives.

    >>> from rdflib import Literal, Variable
    >>> "".join(iter_select_text([Variable("x")], [(Literal("a,b"),), (None,)], "csv"))
    'x\r\n"a,b"\r\n""\r\n'
    """
    names = [str(v) for v in variables]
    batch = 2000  # rows per piece: one write per piece keeps output fast, and memory bounded
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(names)
        texts = rows.texts() if isinstance(rows, Rows) else (
            tuple(None if t is None else str(t) for t in row) for row in rows)
        for number, row in enumerate(texts, 1):
            writer.writerow(["" if t is None else t for t in row])
            if not number % batch:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()
    elif fmt == "tsv":
        lines = ["\t".join(f"?{n}" for n in names)]
        for row in rows:
            lines.append("\t".join("" if t is None else _tsv_term(t) for t in row))
            if len(lines) >= batch:
                yield "\n".join(lines) + "\n"
                lines = []
        yield "\n".join(lines) + "\n" if lines else ""
    elif fmt == "json":
        # json.dumps(..., indent=1) of the whole answer, written binding by binding.
        def dumps(value):
            return json.dumps(value, ensure_ascii=False, indent=1)
        first = True
        pieces = []
        keys, seen = [json.dumps(n, ensure_ascii=False) for n in names], {}
        for row in rows:
            binding = _json_binding(keys, row, seen)
            if first:
                head = dumps({"head": {"vars": names}, "results": {"bindings": [0]}})
                pieces.append(head[:head.rindex("0")])
                first = False
            else:
                pieces.append(",\n   ")
            pieces.append(binding)
            if len(pieces) >= batch:
                yield "".join(pieces)
                pieces = []
        if first:
            yield dumps({"head": {"vars": names}, "results": {"bindings": []}}) + "\n"
        else:
            pieces.append("\n  ]\n }\n}\n")
            yield "".join(pieces)
    else:
        raise UsageError(f"unknown streamed format {fmt!r}; use one of {', '.join(STREAMED_FORMATS)}")


def _json_binding(keys: list[str], row, seen: dict | None = None) -> str:
    """``json.dumps({name: _json_term(term) ...}, ensure_ascii=False, indent=1)`` of one row, indented to
    its place in the answer, without json's pure-Python indenting encoder (ten times slower).

    >>> from rdflib import Literal, URIRef
    >>> row = (URIRef("https://x.org/a"), None, Literal("中", lang="zh"))
    >>> keys = ['"a"', '"b"', '"c"']
    >>> text = json.dumps({"a": _json_term(row[0]), "c": _json_term(row[2])}, ensure_ascii=False, indent=1)
    >>> _json_binding(keys, row) == text.replace("\\n", "\\n   ")
    True
    """
    from json.encoder import encode_basestring as string  # what json.dumps(str, ensure_ascii=False) gives

    fields = []
    for key, term in zip(keys, row):
        if term is None:
            continue
        inner = seen.get(term) if seen is not None else None
        if inner is None:
            inner = ",\n     ".join(f"{string(k)}: {string(v)}" for k, v in _json_term(term).items())
            if seen is not None and len(seen) < 100_000:  # terms recur (kinds, currencies); memory stays bounded
                seen[term] = inner
        fields.append(f"    {key}: {{\n     {inner}\n    }}")
    if not fields:
        return "{}"
    return "{\n" + ",\n".join(fields) + "\n   }"


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


def _cells(rows) -> list[list[str]]:
    """Rows as the text a person reads in each cell (:func:`_display`), each distinct term done once."""
    seen: dict = {}
    cells = []
    for row in rows:
        line = []
        for term in row:
            text = seen.get(term)
            if text is None:
                text = seen[term] = _display(term)
            line.append(text)
        cells.append(line)
    return cells


_LOCAL_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def _display(term, graph: Graph | None = None) -> str:
    """A cell as a person reads it: prefixed names, plain literal text, @zh/@en dropped."""
    from kg.terminal import printable

    return printable(_plain(term, graph))


def _plain(term, graph: Graph | None) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        for prefix, ns in PREFIXES.items():
            if term.startswith(ns) and _LOCAL_NAME.fullmatch(term, len(ns)):
                return f"{prefix}:{term[len(ns):]}"
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return " ".join(str(term).split())


def _char_width(ch: str) -> int:
    import unicodedata
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two wide."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _text_table(names: list[str], rows: list[list[str]], max_cell: int = 60) -> str:
    def clip(text):
        if len(text) <= max_cell // 2 or _width(text) <= max_cell:
            return text
        out, used = [], 0
        for ch in text:
            used += _char_width(ch)
            if used > max_cell - 1:
                break
            out.append(ch)
        return "".join(out) + "…"

    rows = [[clip(c) for c in row] for row in rows]
    widths = [_width(n) for n in names]
    for row in rows:
        for i, cell in enumerate(row):
            w = _width(cell)
            if w > widths[i]:
                widths[i] = w

    def line(cells):
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(names), line(["-" * w for w in widths])] + [line(r) for r in rows])
