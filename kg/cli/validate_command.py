"""The ``kg validate`` command: SHACL shapes and verbatim quotes over the bundled data and ``--data`` files."""

from __future__ import annotations

import click

from kg.cli import data_option, main


@main.command()
@data_option
@click.pass_context
def validate(ctx):
    """Check the data: parties of deals, currencies and decimal values of amounts, known figure kinds
    and modalities, a source (line and quote) on every fact, and every quote verbatim in its line.

    Prints one line per violation (node, property, message) and exits 1 if there is any, 0 when clean;
    a file that does not parse exits 2 with its file, line and column.
    """
    from kg.cli import open_graph
    from kg.terminal import printable
    from kg.validation import validate as run_validation

    graph = open_graph(ctx, rdflib_store=True)
    violations = run_validation(graph)
    for violation in violations:
        click.echo(printable(str(violation), keep_newlines=False))
    if violations:
        click.echo(f"{len(violations)} violation{'s' if len(violations) != 1 else ''}", err=True)
        ctx.exit(1)
    click.echo(f"ok: {len(graph)} triples conform to ontology/shapes.ttl, every quote found in its line", err=True)
