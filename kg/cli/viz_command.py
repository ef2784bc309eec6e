"""The ``kg viz`` command: write the deal web as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from kg.cli import data_option, main


@main.command()
@data_option
@click.option("-o", "--output", default="deals.html", show_default=True, metavar="FILE",
              help="Where to write the page (in the current folder by default); '-' writes it to stdout.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the default web browser.")
@click.option("--focus", metavar="ENTITY", help="Draw only this entity's neighbourhood (English or Chinese name, alias, IRI).")
@click.option("--hops", type=int, default=None, metavar="N",
              help="With --focus: how many flows or relations away to draw (default 1).")
@click.option("--assume", multiple=True, metavar="CONDITION=failed|met",
              help="Draw the flows as if a condition failed or was met (as in `kg trace`); repeatable.")
@click.option("--top", type=int, default=None, metavar="N",
              help="Keep only the N largest flows (pages above 500 nodes keep the largest automatically).")
@click.option("--title", default=None, help="The page's title.")
@click.pass_context
def viz(ctx, output, open_page, focus, hops, assume, top, title):
    """Draw the deal web: organizations and people, and the money, equity and relations between them.

    The page opens from a file with no network (vis-network is inlined). Hover an arrow for the deal's
    terms and the article's words; circular deals glow red, and "Only circular deals" shows just them.
    """
    from kg.cli import open_graph
    from kg.errors import UsageError
    from kg.files import check_output_path, write_output
    from kg.viz import build

    if hops is not None and focus is None:
        raise UsageError("--hops needs --focus ENTITY")
    target = None if check_output_path(output) is None else Path(output)  # a bad -o fails before the work
    if open_page and target is None:
        raise UsageError("--open needs a file (not -o -)")
    from kg.cli.flow_commands import store_flow_index

    graph = open_graph(ctx)  # first: it refreshes the store (and its flow index) when a file changed
    web = build(graph, focus=focus, hops=1 if hops is None else hops, assume=list(assume),
                top=top, title=title, index=store_flow_index(ctx, graph))
    write_output(output, web.html)
    where = "stdout" if target is None else str(target)
    click.echo(f"wrote {where}: {web.node_count} organizations and people, {web.edge_count} flows and "
               f"relations ({web.loop_edge_count} in circular deals)", err=True)
    if web.note:
        click.echo(web.note, err=True)
    if open_page:
        import webbrowser
        webbrowser.open(target.resolve().as_uri())
