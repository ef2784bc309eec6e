"""The Starlette application of ``kg serve``: the SPARQL 1.1 Protocol, the JSON API and the guards.

``create_app(settings)`` builds the application; the worker pool starts with it (lifespan) and stops
with it. Every answer is built here from data: no exception text from a library, no file path and no
traceback ever reaches a client (errors are logged on the server's stderr instead).
"""

from __future__ import annotations

import ipaddress
import json
import sys
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from kg.errors import KgError
from kg.server.cache import AnswerCache
from kg.server.pool import JobError, PoolError, WorkerPool
from kg.server.stored import StoredAnswers

#: Media types of the service description, by format name.
_SD_TYPES = {"turtle": "text/turtle", "nt": "application/n-triples", "rdfxml": "application/rdf+xml",
             "jsonld": "application/ld+json"}


@dataclass
class Settings:
    """What ``kg serve`` was started with."""

    host: str = "127.0.0.1"
    port: int = 7878
    source: dict = field(default_factory=dict)  # {"store": DIR} or {"data": [FILES]}
    timeout: float = 10.0
    max_rows: int = 10_000
    max_body: int = 1_000_000
    workers: int = 2
    max_queue: int = 64
    cors: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    cache_size: int = 64 << 20  # bytes of answers kept in memory (kg.server.cache); 0: no cache


# --------------------------------------------------------------------------------------------------
# Answers


def text_error(message: str, status: int, headers: dict | None = None) -> Response:
    """A one-line plain-text error (what SPARQL clients show their users)."""
    return PlainTextResponse(message.splitlines()[0] + "\n" if message else "\n", status, headers=headers)


def error_headers(exc) -> dict:
    retry = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry)} if retry else {}


# --------------------------------------------------------------------------------------------------
# The SPARQL protocol


class ProtocolError(KgError):
    """A request the protocol says is malformed (HTTP 400 unless ``status`` says otherwise)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _single(pairs: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in pairs if k == name]
    if len(values) > 1:
        raise ProtocolError(f"more than one {name} parameter")
    return values[0] if values else None


def _charset_is_utf8(content_type: str) -> bool:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


@lru_cache(maxsize=256)
def _form_pairs(body: str) -> tuple[tuple[str, str], ...]:
    """A form body's pairs, remembered for the same body: decoding a query's percent escapes costs
    as much as a small query's answer, and clients (dashboards, pages) send the same body again."""
    return tuple(parse_qsl(body, keep_blank_values=True))


async def read_operation(request: Request) -> tuple[str | None, list[tuple[str, str]]]:
    """The query text and the parameters of a protocol request (GET or POST), checked as the protocol asks.

    Updates, in any form, are refused with 403: this endpoint is read-only.
    """
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        body = await request.body()
        if not _charset_is_utf8(content_type):
            raise ProtocolError("the request body must be UTF-8 (charset=utf-8)", 415)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("the request body is not UTF-8 text") from None
        if media == "application/x-www-form-urlencoded":
            form = _form_pairs(text) if len(text) <= 65_536 else parse_qsl(text, keep_blank_values=True)
            if any(k == "update" for k, _ in form):
                _single(form, "update")
                raise ProtocolError("updates are refused: this endpoint is read-only", 403)
            if any(k == "query" for k, _ in pairs):
                raise ProtocolError("give the query in the body or in the URL, not both")
            return _single(form, "query"), pairs + [(k, v) for k, v in form if k != "query"]
        if media == "application/sparql-query":
            if any(k == "query" for k, _ in pairs):
                raise ProtocolError("give the query in the body or in the URL, not both")
            return text, pairs
        if media == "application/sparql-update":
            raise ProtocolError("updates are refused: this endpoint is read-only", 403)
        raise ProtocolError("POST a query as application/sparql-query or application/x-www-form-urlencoded "
                            f"(got {media or 'no content type'})", 415)
    if any(k == "update" for k, _ in pairs):
        _single(pairs, "update")
        raise ProtocolError("updates are refused: this endpoint is read-only (and never over GET)", 403)
    return _single(pairs, "query"), pairs


async def sparql_endpoint(request: Request) -> Response:
    """``/sparql``: the SPARQL 1.1 Protocol for queries; the service description without a query."""
    settings: Settings = request.app.state.settings
    try:
        text, pairs = await read_operation(request)
    except ProtocolError as exc:
        return text_error(str(exc), exc.status)
    if text is None:
        if request.method == "POST":
            return text_error("no query: send query=… (form) or a SPARQL query body", 400)
        return service_description(request)
    defaults = [v for k, v in pairs if k == "default-graph-uri"]
    named = [v for k, v in pairs if k == "named-graph-uri"]
    dataset = (defaults, named) if defaults or named else (None, None)
    accept = request.headers.get("accept")
    try:
        answer, cached = await request.app.state.pool.ask(
            "sparql", text=text, accept=accept, default_graphs=dataset[0], named_graphs=dataset[1],
            max_rows=settings.max_rows, base_iri=str(request.url.replace(query="", fragment="")),
            local=lambda: _small_stored_answer(request.app.state.stored, text, dataset, accept, settings.max_rows))
    except (JobError, PoolError) as exc:
        return text_error(str(exc), exc.status, error_headers(exc))
    headers = {"X-KG-Rows": str(answer["rows"]), "Vary": "Accept", "X-KG-Cache": "hit" if cached else "miss"}
    if answer.get("stored"):
        headers["X-KG-Answer"] = "stored"  # kept with the store by kg load (kg.server.stored), not run now
    if answer["truncated"]:
        headers["X-KG-Truncated"] = f"true; only the first {settings.max_rows} rows (--max-rows)"
    media = answer["media_type"]
    if media.startswith("text/") or media.endswith("+json") or media.endswith("+xml") or media.endswith("/json"):
        media += "; charset=utf-8"
    return body_response(answer["body"], headers, media)


#: Answers larger than this go out in pieces of this size, each one written once the client has taken
#: the ones before (uvicorn waits for the socket to drain between pieces). Written whole, every answer
#: is copied into its connection's buffer at once: fifty clients reading an 80 MB answer held 4 GB,
#: and the server stopped at its memory limit.
PIECE_BYTES = 256 * 1024


def body_response(body: bytes, headers: dict, media_type: str) -> Response:
    """A 200 response with ``body``, sent in pieces of :data:`PIECE_BYTES` when larger (same bytes, same
    Content-Length)."""
    if len(body) <= PIECE_BYTES:
        return Response(body, 200, headers=headers, media_type=media_type)
    view = memoryview(body)

    async def pieces():
        for start in range(0, len(view), PIECE_BYTES):
            yield bytes(view[start:start + PIECE_BYTES])
    return StreamingResponse(pieces(), 200, headers={**headers, "Content-Length": str(len(body))},
                             media_type=media_type)


def _small_stored_answer(stored, text: str, dataset: tuple, accept: str | None, max_rows: int) -> dict | None:
    """A small stored answer written here, without a worker (kg.server.stored: its work is bounded by
    the file's size); None when a worker must answer. JobError when the guard refuses the text."""
    candidate = stored.text_for(text, *dataset)
    found = stored.small(candidate) if candidate is not None else None
    if found is None:
        return None
    from kg.server.guard import QueryRefused, checked_query
    from kg.server.stored import answer_body

    try:
        checked_query(text)  # the same guard as every query the workers run
    except QueryRefused as exc:
        raise JobError(str(exc), exc.status) from exc
    return answer_body(*found, accept, max_rows)


def service_description(request: Request) -> Response:
    """A SPARQL 1.1 Service Description of this endpoint (Turtle unless another RDF format is asked)."""
    import pyoxigraph as ox

    from kg.graph import PREFIXES
    from kg.server.results import _accepted

    endpoint = str(request.url.replace(query="", fragment=""))
    prefixes = "".join(f'    [ sd:prefix "{p}" ; sd:namespace "{ns}"^^xsd:anyURI ] ,\n' for p, ns in PREFIXES.items())
    turtle = f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ent: <http://www.w3.org/ns/entailment/> .
@prefix fmt: <http://www.w3.org/ns/formats/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix pfx: <https://w3id.org/aimoney/ontology#> .

[] a sd:Service ;
  rdfs:label "kg: the knowledge graph of the AI industry's money (read-only)" ;
  sd:endpoint <{endpoint}> ;
  sd:supportedLanguage sd:SPARQL11Query ;
  sd:feature sd:EmptyGraphs ;
  sd:defaultEntailmentRegime ent:Simple ;
  sd:resultFormat fmt:SPARQL_Results_JSON, fmt:SPARQL_Results_XML, fmt:SPARQL_Results_CSV,
    fmt:SPARQL_Results_TSV, fmt:Turtle, fmt:N-Triples, fmt:JSON-LD, fmt:RDF_XML ;
  pfx:predeclaredPrefix
{prefixes.rstrip().rstrip(',')} ;
  sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] .
"""
    fmt = "turtle"
    for media, _q in _accepted(request.headers.get("accept")):
        found = {v: k for k, v in _SD_TYPES.items()}.get(media)
        if found:
            fmt = found
            break
    if fmt == "turtle":
        return Response(turtle, media_type="text/turtle; charset=utf-8")
    triples = list(ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    out = {"nt": ox.RdfFormat.N_TRIPLES, "rdfxml": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}[fmt]
    return Response(ox.serialize(triples, format=out), media_type=_SD_TYPES[fmt])


async def prefixes_json(request: Request) -> Response:
    """kg's predeclared prefixes in prefix.cc's format, for the editor's prefix completion."""
    from kg.graph import PREFIXES
    return JSONResponse({p: str(ns) for p, ns in PREFIXES.items()})


# --------------------------------------------------------------------------------------------------
# JSON API: the same data as the CLI's --format json (kg.reports)


def _ints(request: Request, **defaults) -> dict:
    out = {}
    for name, (default, low, high) in defaults.items():
        raw = request.query_params.get(name.replace("_", "-")) or request.query_params.get(name)
        if raw in (None, ""):
            out[name] = default
            continue
        try:
            value = int(raw)
        except ValueError:
            raise ProtocolError(f"{name.replace('_', '-')} must be a whole number, not {raw[:40]!r}") from None
        if not low <= value <= high:
            raise ProtocolError(f"{name.replace('_', '-')} must be between {low} and {high}")
        out[name] = value
    return out


def _listed(request: Request, name: str) -> list[str]:
    return [v for v in request.query_params.getlist(name) if v.strip()]


async def api_run(request: Request, job: str, **arguments) -> Response:
    try:
        data, cached = await request.app.state.pool.ask(job, **arguments)
    except (JobError, PoolError) as exc:
        return JSONResponse({"error": str(exc)}, exc.status, headers=error_headers(exc))
    return Response(json.dumps(data, ensure_ascii=False, indent=2, default=list),
                    media_type="application/json; charset=utf-8", headers={"X-KG-Cache": "hit" if cached else "miss"})


def api_options(request: Request, *names: str) -> dict:
    """Options shared by the analyses: --kind and --assume (repeatable) and the numeric bounds."""
    options = {"kinds": _listed(request, "kind") or None, "assume": _listed(request, "assume")}
    bounds = {"max_hops": (4, 1, 8), "max_length": (4, 1, 8), "limit": (50, 1, 1000)}
    options.update(_ints(request, **{n: bounds[n] for n in names}))
    return options


async def api_status(request: Request) -> Response:
    """``/api/status``: the worker pool (for monitoring): workers idle, requests waiting, workers killed;
    and how many stored answers the ``--store`` keeps (kg.server.stored)."""
    return JSONResponse({**request.app.state.pool.status(), "stored_answers": len(request.app.state.stored.digests)})


async def api_entity(request: Request) -> Response:
    return await api_run(request, "entity", name=request.path_params["name"])


async def api_trace(request: Request) -> Response:
    source = request.query_params.get("from", "").strip()
    if not source:
        return JSONResponse({"error": "give from=NAME (and optionally to=NAME)"}, 400)
    try:
        options = api_options(request, "max_hops", "limit")
    except ProtocolError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return await api_run(request, "trace", source=source, target=request.query_params.get("to") or None, **options)


async def api_cycles(request: Request) -> Response:
    try:
        options = api_options(request, "max_length", "limit")
    except ProtocolError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return await api_run(request, "cycles", **options)


async def api_flows(request: Request) -> Response:
    try:
        options = api_options(request)
    except ProtocolError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return await api_run(request, "flows", entity=request.path_params.get("name"), **options)


# --------------------------------------------------------------------------------------------------
# Guards (pure ASGI middleware, outermost first)


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:7878
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostAllowlist:
    """Refuse requests whose Host header is not this server's (DNS rebinding: a web page on another
    site whose name resolves to 127.0.0.1). Only when bound to loopback, or when names are given."""

    def __init__(self, app, bound_host: str, allowed: tuple[str, ...]):
        self.app = app
        names = {h.lower().strip("[]") for h in allowed}
        if _is_loopback(bound_host):
            names |= {"127.0.0.1", "localhost", "::1", bound_host.lower().strip("[]")}
        self.allowed = names

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.allowed:
            host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
            if _host_name(host) not in self.allowed:
                await text_error("Host header not allowed: open this server by its own address "
                                 "(or start it with --allow-host NAME)", 421)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, without holding them in memory.

    The rest of an oversized body is read and dropped (for a few seconds at most) before the 413 is
    sent, as nginx's lingering close does, so that the client sees the 413 instead of a reset connection.
    """

    def __init__(self, app, limit: int, linger_seconds: float = 3.0):
        self.app, self.limit, self.linger = app, limit, linger_seconds

    async def _refuse(self, scope, receive, send, more_body: bool) -> None:
        import anyio

        # Read and drop what the client is still sending (for a few seconds at most) before answering:
        # a server that answers and closes while the client writes makes it see a reset, not the 413.
        with anyio.move_on_after(self.linger):
            while more_body:
                message = await receive()
                more_body = message.get("type") == "http.request" and message.get("more_body", False)
        response = text_error(f"request body too large: the limit is {self.limit:,} bytes", 413,
                              {"Connection": "close"})
        await response(scope, receive, send)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        try:
            declared = int(length) if length is not None else None
        except ValueError:
            declared = None
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send, more_body=True)
            return
        received, started, last = 0, False, {"more_body": False}

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                last["more_body"] = message.get("more_body", False)
                if received > self.limit:
                    raise _TooLarge()
            return message

        async def watched_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send, more_body=last["more_body"])


class SecurityHeaders:
    """Headers on every answer: no sniffing, no framing by other sites, no referrer leaks; a strict
    Content-Security-Policy on our own pages (the deal web's page sets its own)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", b"referrer-policy": b"no-referrer",
                         b"x-frame-options": b"SAMEORIGIN",
                         b"content-security-policy": (b"default-src 'self'; img-src 'self' data:; "
                                                      b"style-src 'self' 'unsafe-inline'; script-src 'self'; "
                                                      b"connect-src 'self'; frame-ancestors 'self'; "
                                                      b"base-uri 'none'; form-action 'self'")}
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, with_headers)


# --------------------------------------------------------------------------------------------------
# The application


async def _not_found(request: Request, exc) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "no such page"}, 404)
    from kg.server.pages import error_page
    return error_page(request, "No such page", "There is nothing at this address.", 404)


async def _method_not_allowed(request: Request, exc) -> Response:
    return text_error(f"method {request.method} not allowed here", 405, {"Allow": "GET, POST"})


async def _internal_error(request: Request, exc: Exception) -> Response:
    traceback.print_exception(exc, file=sys.stderr)
    return text_error("internal error (the server log has the details)", 500)


def create_app(settings: Settings, pool: WorkerPool | None = None) -> Starlette:
    """The application for ``settings``; :func:`start` starts its workers."""
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.staticfiles import StaticFiles

    from kg.server import pages

    pool = pool or WorkerPool(settings.source, size=settings.workers, timeout=settings.timeout,
                              max_queue=settings.max_queue, cache=AnswerCache(settings.cache_size))

    routes = [
        Route("/", pages.workbench),
        Route("/sparql", sparql_endpoint, methods=["GET", "POST"]),
        Route("/sparql/", sparql_endpoint, methods=["GET", "POST"]),
        Route("/prefixes.json", prefixes_json),
        Route("/queries", pages.query_list),
        Route("/queries/{name}", pages.stored_query),
        Route("/entity", pages.entity_lookup),
        Route("/entity/{name:path}", pages.entity),
        Route("/trace", pages.trace),
        Route("/cycles", pages.cycles),
        Route("/web", pages.web),
        Route("/api/status", api_status),
        Route("/api/entity/{name:path}", api_entity),
        Route("/api/trace", api_trace),
        Route("/api/cycles", api_cycles),
        Route("/api/flows", api_flows),
        Route("/api/flows/{name:path}", api_flows),
        Mount("/static", StaticFiles(packages=[("kg.server", "static")]), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if settings.cors:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors),
                                     allow_methods=["GET", "POST"], allow_headers=["Content-Type", "Accept"],
                                     expose_headers=["X-KG-Truncated", "X-KG-Rows", "X-KG-Cache", "X-KG-Answer"]))
    middleware += [Middleware(HostAllowlist, bound_host=settings.host, allowed=settings.allowed_hosts),
                   Middleware(BodyLimit, limit=settings.max_body)]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={404: _not_found, 405: _method_not_allowed, Exception: _internal_error})
    app.state.settings = settings
    app.state.pool = pool
    app.state.stored = StoredAnswers(settings.source.get("store"))
    app.state.entity_names = []
    return app


async def start(app: Starlette) -> None:
    """Start the app's workers (StartError if the data cannot be loaded) and read the entity names."""
    await app.state.pool.start()
    try:
        app.state.entity_names = await app.state.pool.run("entity_names")
    except KgError:
        app.state.entity_names = []
