"""``kg push``: load the bundled graph plus files into a named graph of an external SPARQL store."""

from __future__ import annotations

import click

from kg.cli import main
from kg.errors import UsageError

#: Pushes of at least this many triples show a progress bar.
_PROGRESS_FROM = 20_000


@main.command("push")
@click.option("--endpoint", "endpoint_url", envvar="KG_ENDPOINT", default=None, metavar="URL",
              help="The store's SPARQL query endpoint (default: the global --endpoint / KG_ENDPOINT).")
@click.option("--graph", "graph_iri", envvar="KG_GRAPH", default=None, metavar="IRI",
              help="The named graph to replace (required; default: the global --graph / KG_GRAPH).")
@click.option("--update-url", default=None, metavar="URL",
              help="Where SPARQL Update goes, when the store has a separate URL (Oxigraph: /update).")
@click.option("--gsp-url", default=None, metavar="URL",
              help="Graph Store Protocol URL, to send the triples with it (Virtuoso: /sparql-graph-crud-auth, "
                   "Oxigraph: /store); without it, SPARQL Update INSERT DATA is used.")
@click.option("--bundled/--no-bundled", default=True, show_default=True,
              help="Include the bundled ontology and article facts.")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.pass_context
def push_command(ctx, endpoint_url, graph_iri, update_url, gsp_url, bundled, files):
    """Replace the content of a named graph in a SPARQL store with the bundled graph plus FILES.

    The triples go into a temporary graph first, which then replaces the named graph in one MOVE: a
    push that fails midway leaves the named graph as it was, and rerunning it completes it. The
    triple count is checked afterwards. Credentials come from KG_ENDPOINT_USER and
    KG_ENDPOINT_PASSWORD (Basic or Digest). See docs/remote.md for each store's URLs.

    \b
    Example:
      kg push --endpoint http://localhost:8890/sparql --graph https://example.org/aimoney deals.ttl
      kg --endpoint http://localhost:8890/sparql --graph https://example.org/aimoney cycles
    """
    from kg.push import push
    from kg.remote import Endpoint

    obj = ctx.find_root().obj or {}
    endpoint_url = endpoint_url or obj.get("endpoint")
    graph_iri = graph_iri or obj.get("graph")
    if not endpoint_url:
        raise UsageError("kg push needs --endpoint URL (or KG_ENDPOINT)")
    if not graph_iri:
        raise UsageError("kg push needs --graph IRI: the named graph whose content it replaces")
    endpoint = Endpoint.from_environment(endpoint_url, update_url=update_url, gsp_url=gsp_url)
    files = list(obj.get("data", [])) + list(files)
    from kg.cli import _input_bytes, watchdog
    watchdog(ctx).allow_input(_input_bytes(files, None))  # memory in proportion to the data, as kg load
    bar = {}

    def started(total):
        if total >= _PROGRESS_FROM:
            bar["bar"] = click.progressbar(length=total, label=f"pushing {total:,} triples", file=click.get_text_stream("stderr"))
            bar["bar"].__enter__()

    def progress(n):
        if "bar" in bar:
            bar["bar"].update(n)

    try:
        result = push(endpoint, graph_iri, files, bundled=bundled, progress=progress, started=started)
    finally:
        if "bar" in bar:
            bar["bar"].__exit__(None, None, None)
        endpoint.close()
    rate = result.triples / result.seconds if result.seconds else 0
    click.echo(f"pushed {result.triples:,} triples into <{result.graph}> at {endpoint.shown} "
               f"({result.method}, {result.seconds:.1f} s, {rate:,.0f} triples/s)")
