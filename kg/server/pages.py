"""The HTML pages of ``kg serve``, rendered with Jinja2 templates (``kg/server/templates``).

Autoescaping is on for every template: data reaches a page only as escaped text or as URL components
(``urlencode``). The answers come from the same worker jobs as the JSON API (``kg.server.worker``), so a
page and its API route show the same data. Each page that runs a query says when rows were cut at
the row cap.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kg.server.pool import JobError, PoolError


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("kg.server", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["entity_url"] = lambda name: "/entity/" + quote(str(name), safe="")
    env.filters["usd"] = _usd
    return env


def _usd(value) -> str:
    from kg.amounts import format_usd

    if value is None:
        return "not stated"
    sign = "−" if value < 0 else ""
    return sign + format_usd(abs(value))


def render(request: Request, template: str, status: int = 200, headers: dict | None = None, **context) -> Response:
    settings = request.app.state.settings
    html = _environment().get_template(template).render(
        request=request, settings=settings, names=getattr(request.app.state, "entity_names", []), **context)
    return HTMLResponse(html, status, headers=headers)


def error_page(request: Request, title: str, message: str, status: int, headers: dict | None = None) -> Response:
    return render(request, "error.html", status, headers, title=title, message=message)


async def _run(request: Request, job: str, **arguments):
    """A job's value, or (None, an error page)."""
    try:
        return await request.app.state.pool.run(job, **arguments), None
    except (JobError, PoolError) as exc:
        from kg.server.app import error_headers
        title = {404: "Not found", 429: "Too many queries", 503: "Stopped"}.get(exc.status, "Cannot answer")
        return None, error_page(request, title, str(exc), exc.status, error_headers(exc))


@lru_cache(maxsize=1)
def _stored_queries():
    """The stored queries by name, read once (the server serves the queries it started with)."""
    from kg.queries import stored_queries
    return {q.name: q for q in stored_queries()}


async def workbench(request: Request) -> Response:
    """``/``: the SPARQL editor (YASGUI, served from this package) and links to everything else."""
    return render(request, "workbench.html", queries=list(_stored_queries().values()))


async def query_list(request: Request) -> Response:
    """``/queries``: every stored query with its form."""
    return render(request, "queries.html", queries=list(_stored_queries().values()))


async def stored_query(request: Request) -> Response:
    """``/queries/NAME?param=…``: a stored query's form and its answer; ``NAME.csv`` / ``NAME.json`` download it."""
    name, fmt = request.path_params["name"], "html"
    for suffix in ("csv", "json"):
        if name.endswith("." + suffix):
            name, fmt = name[: -len(suffix) - 1], suffix
    query = _stored_queries().get(name)
    if query is None:
        return error_page(request, "No such stored query", f"There is no stored query named {name!r}.", 404)
    declared = {p.name for p in query.params}
    values = {k: v for k, v in request.query_params.items() if k in declared and v.strip()}
    settings = request.app.state.settings
    try:
        answer = await request.app.state.pool.run("stored", name=name, values=values,
                                                  fmt="rows" if fmt == "html" else fmt, max_rows=settings.max_rows)
    except (JobError, PoolError) as exc:
        from kg.server.app import error_headers, text_error
        if fmt != "html":
            return text_error(str(exc), exc.status, error_headers(exc))
        return render(request, "stored_query.html", exc.status, error_headers(exc), query=query, values=values,
                      answer=None, error=str(exc), links={})
    headers = {}
    if answer["truncated"]:
        headers["X-KG-Truncated"] = f"true; only the first {settings.max_rows} rows (--max-rows)"
    if fmt != "html":
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/sparql-results+json; charset=utf-8"
        headers["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
        from kg.server.app import body_response

        return body_response(answer["body"], headers, media)
    suffix = ("?" + urlencode(values)) if values else ""
    links = {"CSV": f"/queries/{name}.csv{suffix}", "JSON": f"/queries/{name}.json{suffix}"}
    return render(request, "stored_query.html", headers=headers, query=query, values=values, answer=answer,
                  error=None, links=links)


async def entity_lookup(request: Request) -> Response:
    """``/entity?name=…`` (the search box) goes to the entity's page."""
    name = request.query_params.get("name", "").strip()
    if not name:
        return render(request, "entities.html")
    return RedirectResponse("/entity/" + quote(name, safe=""), 303)


async def entity(request: Request) -> Response:
    """``/entity/NAME``: what ``kg show NAME`` shows, every quote with its line."""
    view, failure = await _run(request, "entity", name=request.path_params["name"])
    return failure or render(request, "entity.html", view=view)


async def trace(request: Request) -> Response:
    """``/trace?from=&to=``: the money paths, hop by hop."""
    from kg.server.app import ProtocolError, api_options

    source = request.query_params.get("from", "").strip()
    target = request.query_params.get("to", "").strip()
    if not source:
        return render(request, "trace.html", report=None, source="", target=target, error=None)
    try:
        options = api_options(request, "max_hops", "limit")
    except ProtocolError as exc:
        return render(request, "trace.html", 400, report=None, source=source, target=target, error=str(exc))
    try:
        report = await request.app.state.pool.run("trace", source=source, target=target or None, **options)
    except (JobError, PoolError) as exc:
        return render(request, "trace.html", exc.status, report=None, source=source, target=target, error=str(exc))
    return render(request, "trace.html", report=report, source=source, target=target, error=None,
                  max_hops=options["max_hops"])


async def cycles(request: Request) -> Response:
    """``/cycles``: every circular deal, largest first."""
    from kg.server.app import ProtocolError, api_options

    try:
        options = api_options(request, "max_length", "limit")
    except ProtocolError as exc:
        return error_page(request, "Cannot answer", str(exc), 400)
    answer, failure = await _run(request, "cycles_page", **options)
    return failure or render(request, "cycles.html", report=answer["report"], arrangement_names=answer["arrangement_names"],
                             max_length=options["max_length"])


async def web(request: Request) -> Response:
    """``/web``: the deal web of ``kg viz`` (the same page, made by kg.viz); ?focus=&hops=&top=&assume=."""
    from kg.server.app import ProtocolError, _ints

    try:
        numbers = _ints(request, hops=(1, 0, 6), top=(0, 0, 100_000))
    except ProtocolError as exc:
        return error_page(request, "Cannot draw", str(exc), 400)
    focus = request.query_params.get("focus", "").strip() or None
    answer, failure = await _run(request, "web", focus=focus, hops=numbers["hops"], top=numbers["top"] or None,
                                 assume=[a for a in request.query_params.getlist("assume") if a.strip()])
    if failure is not None:
        return failure
    # The page is kg viz's own: inline vis-network and its data, nothing loaded from elsewhere.
    csp = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
           "font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
    return HTMLResponse(answer["html"], headers={"Content-Security-Policy": csp})
