"""Reading a graph kept in an external SPARQL store (Virtuoso, Oxigraph server, Fuseki, GraphDB ...).

:class:`Endpoint` is a small SPARQL 1.1 Protocol client: every request has a time limit; a connection
reset or refused, 502, 503 and 504 are retried with backoff (a 4xx never is); every failure becomes
one line (:class:`EndpointError`) that says what to do, and never shows the credentials, which come
from ``KG_ENDPOINT_USER`` / ``KG_ENDPOINT_PASSWORD`` (Basic or Digest, whichever the server asks for)
or ``KG_ENDPOINT_TOKEN`` (sent as a bearer token: QLever's access token).

:func:`open_remote` gives an ``rdflib.Graph`` over the endpoint (its store is :class:`RemoteStore`),
so the analyses run on it unchanged:

- ``graph.query`` / :func:`kg.queries.run_query` send the query to the store as it is (the store does
  the work); with ``graph=IRI`` the query's default graph is that named graph (``default-graph-uri``);
- ``graph.value``, ``graph.objects`` ... read one subject's whole description in one request and keep
  it for the rest of the command; other patterns are asked once each;
- :class:`kg.bulk.PropertyTable` reads a whole property with one paged SELECT (``bulk_reader``), which
  is how the flow analyses read the deal table, as they do locally.

Large answers are read in pages (``ORDER BY`` + ``LIMIT``/``OFFSET``, ``page_size`` rows each), so a
store's cap on result rows (Virtuoso's ``ResultSetMaxRows``) does not silently cut them short.

Blank nodes cannot be named in a query, so :mod:`kg.push` stores them as IRIs under
:data:`SKOLEM` (RDF 1.1 skolemization); they read back here as blank nodes again.

>>> Endpoint("http://user:secret@127.0.0.1:1/sparql?x=1").shown
'http://127.0.0.1:1/sparql'
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

from kg.errors import KgError, QuerySyntaxError, UsageError

#: Where blank nodes live in a remote store: ``SKOLEM + id`` (see the module docstring).
SKOLEM = "https://w3id.org/aimoney/.well-known/genid/"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: The SPARQL results and RDF formats asked for; the answer's Content-Type says which came back.
ACCEPT = ("application/sparql-results+xml, application/sparql-results+json;q=0.9, application/n-triples;q=0.9, "
          "text/turtle;q=0.8, text/plain;q=0.5")
#: For SELECT: XML first (Virtuoso writes it much faster than JSON; both carry every term's kind).
RESULTS = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
DEFAULT_TIMEOUT = 120.0
DEFAULT_PAGE_SIZE = 100_000
#: Answers with fewer rows are taken as complete: stores cap their answers at this many or more (Virtuoso's
#: ResultSetMaxRows is 10,000 by default; public endpoints use 10,000 and up).
_TRUSTED_ROWS = 10_000
_CLIENT_LOCK = threading.Lock()


class EndpointError(KgError):
    """A SPARQL endpoint could not be reached, refused us, or failed; the message is one line."""


class EndpointTimeout(EndpointError):
    """A request to the endpoint ran past its time limit."""

    exit_code = 3


def _first_line(text: str) -> str:
    """The first line of a server's error page worth showing (tags stripped, clipped)."""
    for line in re.sub(r"<[^>]+>", "\n", text or "").splitlines():
        line = " ".join(line.split())
        if line and not line.lower().startswith(("<!doctype", "error 5", "error 4")):
            return line[:200]
    return ""


@dataclass
class Endpoint:
    """A SPARQL endpoint: ``url`` answers queries, ``update_url`` updates (default: ``url``),
    ``gsp_url`` the Graph Store Protocol (optional). ``graph`` scopes reading to one named graph."""

    url: str
    graph: str | None = None
    update_url: str | None = None
    gsp_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = 3
    page_size: int = DEFAULT_PAGE_SIZE
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--endpoint {_hide(self.url)}: not an http(s) URL (e.g. http://localhost:8890/sparql)")
        if parts.username and self.user is None:  # http://user:password@host/...: taken, then hidden
            self.user, self.password = parts.username, parts.password or ""
        self.url = _strip_userinfo(self.url)
        self.update_url = _strip_userinfo(self.update_url) if self.update_url else self.url
        self.gsp_url = _strip_userinfo(self.gsp_url) if self.gsp_url else None
        self._client = None
        self._uncapped_sort = False  # pages without LIMIT (the store refused to sort a page's rows at its top)

    @classmethod
    def from_environment(cls, url: str, **options) -> "Endpoint":
        """An endpoint with credentials, time limit and page size from ``KG_ENDPOINT_*`` variables."""
        env = os.environ
        try:
            timeout = float(env.get("KG_ENDPOINT_TIMEOUT") or DEFAULT_TIMEOUT)
            page = int(env.get("KG_ENDPOINT_PAGE_SIZE") or DEFAULT_PAGE_SIZE)
        except ValueError as exc:
            raise UsageError(f"KG_ENDPOINT_TIMEOUT / KG_ENDPOINT_PAGE_SIZE: not a number ({exc})") from None
        if timeout <= 0 or page <= 0:
            raise UsageError("KG_ENDPOINT_TIMEOUT and KG_ENDPOINT_PAGE_SIZE must be more than 0")
        return cls(url, user=env.get("KG_ENDPOINT_USER") or None, password=env.get("KG_ENDPOINT_PASSWORD"),
                   token=env.get("KG_ENDPOINT_TOKEN") or None, timeout=timeout, page_size=page, **options)

    @property
    def shown(self) -> str:
        """The URL as messages show it: no credentials, no query string."""
        return _hide(self.url)

    # ---------------------------------------------------------------------------------- HTTP

    def _http(self):
        with _CLIENT_LOCK:  # made once, even when requests are sent from several threads (kg.remote_flows)
            if self._client is None:
                import httpx

                auth = _any_auth(self.user, self.password or "") if self.user else None
                headers = {"User-Agent": "kg (SPARQL 1.1 Protocol client)"}
                if self.token:  # QLever's access token, or any store's bearer token
                    headers["Authorization"] = f"Bearer {self.token}"
                self._client = httpx.Client(auth=auth, follow_redirects=True, headers=headers)
            return self._client

    def request(self, method: str, url: str, *, what: str = "", retry: bool = True, also_ok=(),
                timeout: float | None = None, **kwargs):
        """An HTTP request with the time limit, retries on transient failures (unless not ``retry``) and
        one-line errors; returns the response (2xx, or a status in ``also_ok``)."""
        import httpx

        shown, delay, tries = _hide(url), 0.5, self.retries + 1 if retry else 1
        timeout = max(timeout or 0, self.timeout)
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                response = self._http().request(method, url, timeout=timeout, **kwargs)
            except httpx.TimeoutException:
                raise EndpointTimeout(f"{shown}: no answer within {timeout:g} s{what} (timed out; "
                                      f"set KG_ENDPOINT_TIMEOUT for a longer limit)") from None
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if last:
                    reason = " ".join(str(exc).split())[:120] or type(exc).__name__
                    raise EndpointError(f"{shown}: cannot reach the SPARQL endpoint{what} ({reason}); "
                                        f"is the server running and the URL right?") from None
            except httpx.HTTPError as exc:
                raise EndpointError(f"{shown}: request failed{what} ({type(exc).__name__})") from None
            else:
                if response.status_code in (502, 503, 504) and not last:
                    pass
                elif response.is_success or response.status_code in also_ok:
                    return response
                else:
                    raise self._status_error(response, shown, what)
            time.sleep(delay)
            delay *= 2

    def _status_error(self, response, shown: str, what: str) -> KgError:
        status, line = response.status_code, _first_line(response.text)
        detail = f": {line}" if line else ""
        if status in (401, 403):
            hint = ("check KG_ENDPOINT_USER and KG_ENDPOINT_PASSWORD (or KG_ENDPOINT_TOKEN)"
                    if self.user or self.token else "set KG_ENDPOINT_USER and KG_ENDPOINT_PASSWORD (or KG_ENDPOINT_TOKEN)")
            return EndpointError(f"{shown}: authentication {'required' if status == 401 else 'refused'} "
                                 f"(HTTP {status}){what}; {hint}")
        if status == 404:
            return EndpointError(f"{shown}: not found (HTTP 404){what}: the path looks wrong; a SPARQL endpoint "
                                 f"is usually at /sparql (Virtuoso, Fuseki /DATASET/sparql), /query (Oxigraph) "
                                 f"or /repositories/NAME (GraphDB)")
        if status in (400, 405, 406, 415) and not what:
            return QuerySyntaxError(f"{shown}: the endpoint rejected the query (HTTP {status}){detail}")
        kind = "server error" if status >= 500 else "request refused"
        return EndpointError(f"{shown}: {kind} (HTTP {status}){what}{detail}")

    def _post_query(self, query: str, accept: str = ACCEPT):
        data = {"query": query}
        if self.graph:
            data["default-graph-uri"] = self.graph
        return self.request("POST", self.url, data=data, headers={"Accept": accept})

    # ---------------------------------------------------------------------------------- SPARQL

    def answer(self, query: str):
        """Run any query: ``("SELECT", variables, rows)`` (rows as tuples of rdflib terms, None where
        unbound), ``("ASK", bool)`` or ``("CONSTRUCT", triples)``."""
        from rdflib import Variable

        response = self._post_query(query)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in ("application/sparql-results+json", "application/json", "application/sparql-results+xml"):
            data = _json(response, self.shown)
            if "boolean" in data:
                return "ASK", bool(data["boolean"])
            names = data.get("head", {}).get("vars", [])
            if names == ["__ASK_RETVAL"]:  # Virtuoso answers ASK as a SELECT of one row, or none
                rows = data.get("results", {}).get("bindings", [])
                return "ASK", bool(rows) and rows[0].get("__ASK_RETVAL", {}).get("value") not in ("0", "false")
            term = _TermReader().term
            rows = [tuple(term(b[n]) if n in b else None for n in names)
                    for b in data.get("results", {}).get("bindings", [])]
            return "SELECT", [Variable(n) for n in names], [row for row in rows if any(x is not None for x in row)]
        return "CONSTRUCT", _parse_triples(response.content, kind, self.shown)

    def bindings(self, query: str, *, ordered: bool = True) -> list[dict]:
        """Every JSON binding of a SELECT that ends in its ORDER BY (and has no LIMIT), in that order
        (kg's own order of terms: blank nodes, IRIs, literals, each by text).

        The query is asked once unordered (``LIMIT page_size``); an answer of :data:`_TRUSTED_ROWS` rows or
        more is checked against a count of them. When the store capped it (Virtuoso at its
        ``ResultSetMaxRows``) or there are more than ``page_size``, the rows are read in keyset pages
        (:meth:`_keyset_pages`). Sorting is done here (unless not ``ordered``), so the store sorts only
        when it must page.
        """
        body, _, order = query.rpartition(" ORDER BY ")
        variables = re.findall(r"\?(\w+)", order)
        first = _json(self._post_query(f"{body}\nLIMIT {self.page_size}", accept=RESULTS), self.shown)
        rows, names = first.get("results", {}).get("bindings", []), first.get("head", {}).get("vars", [])
        total = len(rows)
        if total >= min(_TRUSTED_ROWS, self.page_size):  # as many as a store may cap answers at: count them
            counted = self._rows(self._post_query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ {body} }} }}", accept=RESULTS))
            total = int(counted[0]["n"]["value"]) if counted else 0
        if len(rows) != total:  # capped by the store, or too many for one answer: pages
            keys = variables + [n for n in names if n not in variables]
            rows = self._keyset_pages(body, keys, total, min(self.page_size, len(rows) or self.page_size))
            if len(rows) != total:
                raise EndpointError(f"{self.shown}: read {len(rows):,} of {total:,} rows; the graph changed while "
                                    f"it was read, or the store caps answers: run the command again")
        if ordered:
            rows.sort(key=_sort_key(variables))
        return rows

    def term_rows(self, query: str) -> list[tuple]:
        """The rows of a SELECT that ends in its ORDER BY, as :meth:`bindings` reads them (``ordered=False``),
        but each a tuple of pyoxigraph terms (None where unbound) in the order of the answer's
        variables: when one answer holds them all, as pyoxigraph parses it, with no Python per cell
        (for reading hundreds of thousands of rows)."""
        body, _, _order = query.rpartition(" ORDER BY ")
        answer = _results(self._post_query(f"{body}\nLIMIT {self.page_size}", accept=RESULTS), self.shown)
        rows = [tuple(solution) for solution in answer]
        if len(rows) >= min(_TRUSTED_ROWS, self.page_size):  # capped, or more than a page? as bindings()
            counted = self._rows(self._post_query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ {body} }} }}", accept=RESULTS))
            if not counted or int(counted[0]["n"]["value"]) != len(rows):
                names = [v.value for v in answer.variables]
                rows = [tuple(ox_term(b.get(n)) for n in names) for b in self.bindings(query, ordered=False)]
        return rows

    def _keyset_pages(self, body: str, keys: list[str], total: int, size: int) -> list[dict]:
        """The rows of the SELECT ``body`` (up to ``total``), read in pages by keyset: each page is ordered
        by a text key per variable in ``keys`` (:func:`_key_expression`) and starts at the last row read
        (``FILTER`` key >= that row's key), with no OFFSET, so the store never sorts more than a page's
        rows at its top, whatever the size (Virtuoso refuses ORDER BY + LIMIT + OFFSET past
        ``MaxSortedTopRows``, 10,000 rows by default).

        A literal's key is the one the store computes, sent along with the row: its STR of a number is
        not always the text its answers carry (Virtuoso answers 10e0 as "10.0", STR gives "10"); an
        IRI's and a blank node's are their kind and text. Rows equal to the last one read (a multiset
        answer's duplicates) are asked again and skipped: ``keys`` are all of the answer's variables, so
        rows with the same key are the same row, and their count is what is kept. The skipped rows are
        checked to be those read, so pages that do not join up fail loudly instead of losing or
        repeating rows.
        """
        expressions = [_key_expression(f"?{v}") for v in keys]
        echoed = " ".join(f"(IF(isLITERAL(?{v}), {e}, ?_kg_unbound) AS ?_kg_k{i})"
                          for i, (v, e) in enumerate(zip(keys, expressions)))
        head, order = f"SELECT {' '.join('?' + v for v in keys)} {echoed}", " ".join(expressions)
        rows: list[dict] = []
        boundary: list[str] = []
        while len(rows) < total:
            tied, last, where = 0, None, f"{{ {body} }}"
            if rows:
                last = _row_id(rows[-1], keys)
                while tied < len(rows) and _row_id(rows[-1 - tied], keys) == last:
                    tied += 1
                where += f" FILTER({_at_or_after(expressions, boundary)})"
            page = self._sorted_page(f"{head} WHERE {{ {where} }}\nORDER BY {order}", size + tied)
            again, page = page[:tied], page[tied:]
            if [_row_id(b, keys) for b in again] != [last] * tied:
                raise EndpointError(f"{self.shown}: the store's pages do not join up (its FILTER and ORDER BY "
                                    f"order rows differently, or the graph changed while it was read); "
                                    f"set KG_ENDPOINT_PAGE_SIZE to read more rows at once, or run the command again")
            if not page:
                break
            boundary = _key_values(keys, page[-1])
            for b in page:
                for i in range(len(keys)):
                    b.pop(f"_kg_k{i}", None)
            rows.extend(page)
        return rows

    def _rows(self, response) -> list:
        return _json(response, self.shown).get("results", {}).get("bindings", [])

    def _sorted_page(self, query: str, size: int) -> list[dict]:
        """The first ``size`` rows of an ordered ``query``: with ``LIMIT``, or, once the store refused to
        sort that many at its top (Virtuoso's SR353 past ``MaxSortedTopRows``), without: the store's own
        cap on rows (Virtuoso's ``ResultSetMaxRows``) then ends the page, however many that is."""
        if not self._uncapped_sort:
            try:
                return self._rows(self._post_query(f"{query}\nLIMIT {size}", accept=RESULTS))
            except EndpointError as exc:
                if "SR353" not in str(exc):
                    raise
                self._uncapped_sort = True
        return self._rows(self._post_query(query, accept=RESULTS))

    def count(self, graph: str | None = None) -> int:
        """How many triples the (named) graph holds."""
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
        rows = self._rows(self._post_query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}",
                                           accept=RESULTS))
        return int(rows[0]["n"]["value"]) if rows else 0

    def update(self, text: str, what: str = "", timeout: float | None = None) -> None:
        """Run a SPARQL Update (form-encoded ``update=`` POST to ``update_url``)."""
        self.request("POST", self.update_url, data={"update": text}, what=what, timeout=timeout)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


_UNBOUND = {"key": (-1, "", "")}


def _key_expression(variable: str) -> str:
    """A SPARQL expression giving ``variable``'s term as one text that orders and compares the same in
    a FILTER and in ORDER BY in every store (SPARQL compares plain strings by code point, where terms of
    different kinds do not compare at all): "" unbound, "0" a blank node, "1" + an IRI, "2" + a
    literal's text, language and datatype (different terms, different keys; blank nodes aside)."""
    v = variable
    return (f'COALESCE(IF(isLITERAL({v}), CONCAT("2", STR({v}), " ", LANG({v}), " ", COALESCE(STR(DATATYPE({v})), "")), '
            f'IF(isIRI({v}), CONCAT("1", STR({v})), "0")), "")')


def _at_or_after(expressions: list[str], values: list[str]) -> str:
    """A FILTER condition: the keys ``expressions`` at or after ``values``, in lexicographic order.

    >>> print(_at_or_after(["?a", "?b"], ["x", 'y"']))
    (?a > "x" || ?a = "x" && ?b >= "y\\"")
    """
    condition = ""
    for expression, value in reversed(list(zip(expressions, values))):
        text = _string(value)
        condition = (f"{expression} >= {text}" if not condition else
                     f"({expression} > {text} || {expression} = {text} && {condition})")
    return condition


def _string(text: str) -> str:
    """``text`` as a SPARQL string literal."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
               .replace("\t", "\\t").replace("\b", "\\b").replace("\f", "\\f"))
    return f'"{escaped}"'


def _key_values(keys: list[str], row: dict) -> list[str]:
    """The keys (:func:`_key_expression`) of ``row``'s variables ``keys``: a literal's as the store sent
    it along (``_kg_kN``; computed here from its text if a store left it out), others from the term."""
    values = []
    for i, name in enumerate(keys):
        cell = row.get(name)
        kind = cell["type"] if cell else None
        if kind == "literal":
            echoed = row.get(f"_kg_k{i}")
            values.append(echoed["value"] if echoed else
                          f"2{cell['value']} {cell.get('xml:lang') or ''} {'' if cell.get('xml:lang') else cell.get('datatype', '')}")
        else:
            values.append("" if kind is None else "0" if kind == "bnode" else "1" + cell["value"])
    return values


def _row_id(row: dict, keys: list[str]) -> tuple:
    """A row's terms for ``keys``, blank nodes all alike (their labels are per answer)."""
    return tuple((c["type"], "", None, None) if c["type"] == "bnode" else
                 (c["type"], c["value"], c.get("xml:lang"), c.get("datatype"))
                 for c in (row.get(k, _UNBOUND_CELL) for k in keys))


_UNBOUND_CELL = {"type": "unbound", "value": ""}


def _sort_key(variables: list[str]):
    """The sort key of a row for ORDER BY ``variables``: kg's order of terms (blank nodes, IRIs,
    literals, each by text), read from the cells' precomputed keys."""
    if len(variables) == 1:
        (a,) = variables
        return lambda b: b.get(a, _UNBOUND)["key"]
    return lambda b: tuple(b.get(v, _UNBOUND)["key"] for v in variables)


def _term_key(term) -> tuple:
    """kg's order of rdflib terms, as :func:`_sort_key` orders cells."""
    from rdflib import BNode, Literal

    if isinstance(term, Literal):
        return (2, str(term), term.language or (str(term.datatype) if term.datatype else XSD_STRING))
    return (0 if isinstance(term, BNode) else 1, str(term), "")


def _plain_key(value) -> tuple:
    """The same order over kg.bulk table values."""
    if type(value) is str:
        return (0, value[2:], "") if value[:2] == "_:" else (1, value, "")
    return (2, value.text, value.language or "")


def _json(response, shown: str) -> dict:
    """SPARQL results (XML or JSON) in the structure of the JSON results (``head``, ``results`` with
    ``bindings`` of ``{"type", "value", "xml:lang" | "datatype"}``, or ``boolean``). pyoxigraph parses
    them (in Rust: ten times faster than Python's XML or JSON parsers building the same)."""
    import pyoxigraph as ox

    answer = _results(response, shown)
    if isinstance(answer, ox.QueryBoolean):
        return {"boolean": bool(answer)}
    names = [v.value for v in answer.variables]
    named, blank = ox.NamedNode, ox.BlankNode
    cells: dict = {}  # the same term, the same cell (read, never changed)

    def cell(term):
        found = cells.get(term)
        if found is None:
            kind_ = type(term)
            if kind_ is named:
                found = {"type": "uri", "value": term.value, "key": (1, term.value, "")}
            elif kind_ is blank:
                found = {"type": "bnode", "value": term.value, "key": (0, term.value, "")}
            elif term.language:
                found = {"type": "literal", "value": term.value, "xml:lang": term.language,
                         "key": (2, term.value, term.language)}
            else:
                found = {"type": "literal", "value": term.value, "datatype": term.datatype.value,
                         "key": (2, term.value, term.datatype.value)}
            cells[term] = found
        return found

    rows = [{n: cell(t) for n, t in zip(names, row) if t is not None} for row in answer]
    return {"head": {"vars": names}, "results": {"bindings": rows}}


def _results(response, shown: str):
    """SPARQL results (XML or JSON) as pyoxigraph parses them: QuerySolutions or a QueryBoolean."""
    import pyoxigraph as ox

    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = (ox.QueryResultsFormat.XML if kind in ("application/sparql-results+xml", "application/xml", "text/xml")
           else ox.QueryResultsFormat.JSON)
    try:
        return ox.parse_query_results(response.content, format=fmt)
    except (SyntaxError, ValueError, OSError):
        raise EndpointError(f"{shown}: the answer is not SPARQL results "
                            f"({response.headers.get('content-type', 'no content type')})") from None


def ox_term(cell: dict | None):
    """A cell of :meth:`Endpoint.bindings` as a pyoxigraph term (None for None)."""
    import pyoxigraph as ox

    if cell is None:
        return None
    kind, value = cell["type"], cell["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    if cell.get("xml:lang"):
        return ox.Literal(value, language=cell["xml:lang"])
    return ox.Literal(value, datatype=ox.NamedNode(cell.get("datatype") or XSD_STRING))


def _parse_triples(content: bytes, kind: str, shown: str) -> list:
    import pyoxigraph as ox

    fmt = ox.RdfFormat.N_TRIPLES if kind in ("application/n-triples", "text/plain") else ox.RdfFormat.TURTLE
    if kind not in ("application/n-triples", "text/plain", "text/turtle", "application/x-turtle"):
        raise EndpointError(f"{shown}: unexpected answer type {kind or 'none'} (wanted SPARQL JSON results, "
                            f"N-Triples or Turtle)")
    term = _TermReader().ox_term
    try:
        return [(term(t.subject), term(t.predicate), term(t.object)) for t in ox.parse(content, format=fmt)]
    except SyntaxError as exc:
        raise EndpointError(f"{shown}: unreadable RDF in the answer ({exc.msg})") from None


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _hide(url: str) -> str:
    parts = urlsplit(_strip_userinfo(url)) if "://" in url else None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if parts else "(endpoint)"


def _any_auth(user: str, password: str):
    """httpx auth that sends nothing until the server asks, then answers its Basic or Digest challenge
    (and answers up front from then on)."""
    import httpx

    class AnyAuth(httpx.Auth):
        requires_request_body = True

        def __init__(self):
            self._digest = httpx.DigestAuth(user, password)
            self._basic = httpx.BasicAuth(user, password)
            self._scheme = None  # learnt from the first challenge

        def auth_flow(self, request):
            if self._scheme is not None:
                yield from (self._digest if self._scheme == "digest" else self._basic).auth_flow(request)
                return
            response = yield request
            challenge = response.headers.get("www-authenticate", "").lower()
            if response.status_code != 401:
                return
            if challenge.startswith("digest"):
                self._scheme = "digest"
                flow = self._digest.auth_flow(request)
                next(flow)  # the unauthenticated request, already answered by ``response``
                try:
                    yield flow.send(response)
                except StopIteration:
                    return
            elif challenge.startswith("basic"):
                self._scheme = "basic"
                yield from self._basic.auth_flow(request)

    return AnyAuth()


# ------------------------------------------------------------------------------------- terms


class _TermReader:
    """SPARQL JSON bindings and pyoxigraph terms as rdflib terms (skolem IRIs back to blank nodes);
    each distinct term is made once."""

    def __init__(self):
        self._cache: dict = {}

    def term(self, b: dict):
        key = (b["value"], b.get("xml:lang") or b.get("datatype"), b["type"])
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _make(b["type"], b["value"], b.get("xml:lang"), b.get("datatype"))
        return found

    def ox_term(self, t):
        import pyoxigraph as ox

        if isinstance(t, ox.NamedNode):
            return _make("uri", t.value, None, None)
        if isinstance(t, ox.BlankNode):
            return _make("bnode", t.value, None, None)
        return _make("literal", t.value, t.language, t.datatype.value)


def _make(kind: str, value: str, lang, datatype):
    from rdflib import BNode, Literal, URIRef

    if kind == "uri":
        return BNode(value[len(SKOLEM):]) if value.startswith(SKOLEM) else URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if lang:
        return Literal(value, lang=lang)
    if datatype and datatype != XSD_STRING and not datatype.endswith("#langString"):
        return Literal(value, datatype=datatype)
    return Literal(value)


def plain_value(b: dict):
    """A SPARQL JSON binding as a :mod:`kg.bulk` table value (an IRI's string, ``"_:id"``, a Lit)."""
    from kg.bulk import Lit, _SAME_TEXT

    kind, value = b["type"], b["value"]
    if kind == "uri":
        return "_:" + value[len(SKOLEM):] if value.startswith(SKOLEM) else value
    if kind == "bnode":
        return "_:" + value
    lang, datatype = b.get("xml:lang"), b.get("datatype")
    if lang or not datatype or datatype in _SAME_TEXT and datatype not in _CANONICAL:
        return Lit(value, lang or None)
    return Lit(str(_make(kind, value, lang, datatype)), None)  # rdflib's text of it (1e1 -> 10.0)


# Numbers a store may write in another lexical form than Oxigraph does ("01", "1.50"): their text is
# rdflib's, which normalizes them as Oxigraph does.
_CANONICAL = {"http://www.w3.org/2001/XMLSchema#integer", "http://www.w3.org/2001/XMLSchema#decimal"}


def sparql_term(term) -> str:
    """An rdflib term as SPARQL text, blank nodes as their skolem IRIs."""
    from rdflib import BNode

    if isinstance(term, BNode):
        return f"<{SKOLEM}{term}>"
    return term.n3()


# ------------------------------------------------------------------------------------- the store


def _store_class():
    from rdflib.store import Store

    class RemoteStore(Store):
        """A read-only rdflib store over an :class:`Endpoint` (see the module docstring)."""

        context_aware = False
        formula_aware = False
        transaction_aware = False
        graph_aware = False

        def __init__(self, endpoint: Endpoint):
            super().__init__()
            self.endpoint = endpoint
            self._rows: dict = {}  # subject -> {predicate: [objects]} (its whole description)
            self._patterns: dict = {}  # (p, o) -> [(s, p, o)]
            self._prefixes: dict = {}
            self._namespaces: dict = {}
            self._terms = _TermReader()
            self._flow_index = None

        # --- namespaces (kept locally: they only serve serialization and display)
        def bind(self, prefix, namespace, override=True):
            if override or prefix not in self._namespaces:
                self._namespaces[prefix] = namespace
                self._prefixes[namespace] = prefix

        def namespace(self, prefix):
            return self._namespaces.get(prefix)

        def prefix(self, namespace):
            return self._prefixes.get(namespace)

        def namespaces(self):
            yield from self._namespaces.items()

        # --- reading
        def _select(self, query: str) -> Iterator[dict]:
            return self.endpoint.bindings(query)

        def row(self, subject) -> dict:
            """Every property of ``subject``: {predicate: [objects]}, read once."""
            found = self._rows.get(subject)
            if found is None:
                # With the blank nodes it leads to (a deal's amount, the amount's source spans):
                # those are read next, and one request is cheaper than three.
                self.prefetch([subject])
                found = self._rows[subject]
            return found

        def prefetch(self, subjects: list) -> None:
            """Read the rows of ``subjects`` not read yet (and of their blank nodes), in batches."""
            wanted = [s for s in dict.fromkeys(subjects) if s not in self._rows]
            if not wanted:
                return
            rows: dict = {s: {} for s in wanted}
            for s, p, o in self.described(wanted):
                rows.setdefault(s, {}).setdefault(p, []).append(o)
            for node, row in rows.items():
                for objects in row.values():  # in kg's order, as a scan of the property gives them
                    if len(objects) > 1:
                        objects.sort(key=_term_key)
                self._rows.setdefault(node, dict(sorted(row.items(), key=lambda item: str(item[0]))))

        def described(self, subjects: list) -> Iterator[tuple]:
            """Every triple about ``subjects`` and about the blank nodes they lead to, two deep (a
            concise bounded description), in no particular order."""
            from rdflib import BNode

            # Level by level (the subjects, then the blank nodes they name, then theirs): plain
            # VALUES lookups, which every store answers from its indexes.
            term, seen, level = self._terms.term, set(subjects), list(subjects)
            for _depth in range(3):
                following = []
                for start in range(0, len(level), _ROWS_BATCH):
                    values = " ".join(sparql_term(s) for s in level[start:start + _ROWS_BATCH])
                    for b in self.endpoint.bindings(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} ?s ?p ?o }} "
                                                    f"ORDER BY ?s ?p ?o", ordered=False):
                        s, p, o = term(b["s"]), term(b["p"]), term(b["o"])
                        if isinstance(o, BNode) and o not in seen:
                            seen.add(o)
                            following.append(o)
                        yield s, p, o
                level = following
                if not level:
                    break

        def triples(self, pattern, context=None):
            from rdflib.term import Variable

            s, p, o = (None if isinstance(x, Variable) else x for x in pattern)
            no_contexts = iter(())
            if s is not None:
                row = self.row(s)
                for pred, objects in (row.items() if p is None else [(p, row.get(p, ()))]):
                    for obj in objects:
                        if o is None or obj == o:
                            yield (s, pred, obj), no_contexts
                return
            key = (p, o)
            found = self._patterns.get(key)
            if found is None:
                where = f"?s {'?p' if p is None else sparql_term(p)} {'?o' if o is None else sparql_term(o)}"
                order = " ".join(v for v, bound in (("?s", True), ("?p", p is None), ("?o", o is None)) if bound)
                term = self._terms.term
                found = [(term(b["s"]), p if p is not None else term(b["p"]), o if o is not None else term(b["o"]))
                         for b in self._select(f"SELECT * WHERE {{ {where} }} ORDER BY {order}")]
                self._patterns[key] = found
            for triple in found:
                yield triple, no_contexts

        def __len__(self, context=None):
            return self.endpoint.count()

        def answer_rows(self, query: str, initNs=None, queryGraph=None, initBindings=None):
            """As kg.store's ``answer_rows``: the query runs in the remote store, as written."""
            if initBindings:
                raise UsageError("bindings are not supported on a remote endpoint: bind with VALUES")
            return self.endpoint.answer(query)

        def query(self, query, initNs, initBindings, queryGraph, **kwargs):
            from kg.store import rdflib_result

            if not isinstance(query, str):
                raise UsageError("only SPARQL text can be sent to a remote endpoint")
            if initNs:
                declared = {m.lower() for m in re.findall(r"PREFIX\s+([\w.-]*):", query, re.IGNORECASE)}
                query = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in initNs.items() if p.lower() not in declared) + query
            return rdflib_result(*self.answer_rows(query, initNs, queryGraph, initBindings))

        def close(self, commit_pending_transaction=False):
            self.endpoint.close()

        def bulk_reader(self):
            """The functions kg.bulk's PropertyTable reads with: a whole property in one paged SELECT."""
            return _bulk_reader(self)

        def flow_index(self):
            """The graph's flow index (kg.flow_index), computed once from a few bulk queries
            (:func:`kg.remote_flows.remote_flow_index`)."""
            if self._flow_index is None:
                from kg.remote_flows import remote_flow_index

                self._flow_index = remote_flow_index(self.endpoint)
            return self._flow_index

        # --- writing is not for this store: `kg push` loads a remote graph
        def add(self, triple, context=None, quoted=False):
            raise UsageError("the remote graph is read-only here; load it with `kg push`")

        def remove(self, triple, context=None):
            raise UsageError("the remote graph is read-only here; load it with `kg push`")

    return RemoteStore


_REMOTE_STORE = None


def remote_store_class():
    """The rdflib Store class over an endpoint (made on first use: importing kg.remote costs nothing)."""
    global _REMOTE_STORE
    if _REMOTE_STORE is None:
        _REMOTE_STORE = _store_class()
    return _REMOTE_STORE


def _bulk_reader(store):
    from kg.bulk import _Reader, _group
    from rdflib import BNode, URIRef

    def node(subject):
        return BNode(subject[2:]) if subject[:2] == "_:" else URIRef(subject)

    def scan(prop: str) -> dict:
        column: dict = {}
        for b in store.endpoint.bindings(f"SELECT ?s ?o WHERE {{ ?s <{prop}> ?o }} ORDER BY ?s ?o", ordered=False):
            column.setdefault(plain_value(b["s"]), []).append(plain_value(b["o"]))
        for values in column.values():  # a subject's values in kg's order (the first is graph.value's)
            if len(values) > 1:
                values.sort(key=_plain_key)
        return column

    def scan_where(prop: str, keep) -> dict:
        values = [plain_value(b["o"]) for b in store._select(f"SELECT DISTINCT ?o WHERE {{ ?s <{prop}> ?o }} ORDER BY ?o")]
        kept = [v for v in values if keep(v)]
        pairs = []
        for value in kept:
            if type(value) is str:
                target = sparql_term(node(value))
                pairs.extend((plain_value(b["s"]), value)
                             for b in store._select(f"SELECT ?s WHERE {{ ?s <{prop}> {target} }} ORDER BY ?s"))
        if len(kept) != sum(1 for v in kept if type(v) is str):  # literal values: one scan, filtered here
            wanted = {v for v in kept if type(v) is not str}
            pairs.extend((s, v) for s, vs in scan(prop).items() for v in vs if v in wanted)
        return _group(pairs)

    def row(subject) -> dict:
        from kg.bulk import plain

        return {str(p): [plain(o) for o in objects] for p, objects in store.row(node(subject)).items()}

    columns: dict = {}

    def lookup(subject, prop: str):
        # One property of many subjects (the amounts of every deal on a candidate loop): the whole
        # property in one paged query costs less than a request per subject.
        column = columns.get(prop)
        if column is None:
            column = columns[prop] = scan(prop)
        return column.get(subject)

    def rows(subjects: list) -> dict:
        from kg.bulk import plain

        found: dict = {}
        for start in range(0, len(subjects), _ROWS_BATCH):
            chunk = [node(s) for s in subjects[start:start + _ROWS_BATCH]]
            for s, p, o in store.described(chunk):
                found.setdefault(plain(s), {}).setdefault(str(p), []).append(plain(o))
        for subject in subjects:
            found.setdefault(subject, {})
        return found

    return _Reader(scan, scan_where, row, lookup, rows)


#: Subjects whose rows one request reads (a VALUES list of this many IRIs; `kg viz` at 10k deals: 90
#: requests and 23.6 s with 1,000, 186 and 24.5 s with 250).
_ROWS_BATCH = 1000


def open_remote(endpoint: Endpoint):
    """An rdflib Graph over ``endpoint`` (read-only), with the project's prefixes bound."""
    from rdflib import Graph

    from kg.graph import PREFIXES

    graph = Graph(store=remote_store_class()(endpoint))
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    return graph


def fetch_graph(endpoint: Endpoint, graph=None):
    """The whole (named) graph copied into ``graph`` (default: a new rdflib in-memory graph), read with
    paged SELECT of every triple: for `kg export` and `kg validate`, which want the whole graph."""
    from kg.graph import new_graph

    graph = new_graph() if graph is None else graph
    term = _TermReader().term
    for b in endpoint.bindings("SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"):
        graph.add((term(b["s"]), term(b["p"]), term(b["o"])))
    return graph


def skolemized_ntriples(store) -> bytes:
    """The default graph of a pyoxigraph ``store`` as N-Triples, blank nodes as skolem IRIs (kg.push).

    pyoxigraph writes the N-Triples (in Rust); a blank node can then only stand at the start of a line
    or as the object at its end, so two patterns find every one and none inside a literal.
    """
    import pyoxigraph as ox

    return skolemize(store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()))


def skolemize(text: bytes) -> bytes:
    """Whole lines of N-Triples as pyoxigraph writes them, blank nodes as skolem IRIs (see
    :func:`skolemized_ntriples`)."""
    skolem = f"<{SKOLEM}".encode()
    text = re.sub(rb"^_:([A-Za-z0-9_.-]+)", lambda m: skolem + m.group(1) + b">", text, flags=re.MULTILINE)
    return re.sub(rb"> _:([A-Za-z0-9_.-]+) \.$", lambda m: b"> " + skolem + m.group(1) + b"> .", text,
                  flags=re.MULTILINE)


#: Bytes of Turtle per triple, about (100,000 synthetic deals: 66 MB, 2.3M triples): the remote
#: graph's size as kg.limits scales the memory budget by the data given.
_BYTES_PER_TRIPLE = 30


def open_endpoint_graph(url: str, graph: str | None = None, *, data=(), store_dir=None, copy: bool = False,
                        budget=None):
    """The graph a command works on with ``--endpoint``: the remote graph (read-only), or with
    ``copy`` a local rdflib copy of it (what `kg export` and `kg validate` need). ``budget(bytes)``, when
    given, is told how large the remote graph is (kg.limits.Watchdog.allow_input)."""
    if store_dir:
        raise UsageError("--endpoint and --store cannot be used together: choose one graph")
    if data:
        raise UsageError("--data cannot be added to a remote graph: load the files into it with "
                         "`kg push --endpoint URL --graph IRI FILES`")
    endpoint = Endpoint.from_environment(url, graph=graph)
    if budget is not None:
        budget(endpoint.count() * _BYTES_PER_TRIPLE)
    return fetch_graph(endpoint) if copy else open_remote(endpoint)
