"""Commands for scale: ``kg load`` (a persistent Oxigraph store) and ``kg synth`` (synthetic data)."""

from __future__ import annotations

import click

from kg.cli import main
from kg.errors import UsageError


@main.command("load")
@click.option("--store", "store_dir", type=click.Path(file_okay=False), default=None,
              help="Directory of the persistent store (created if new); same as `kg --store DIR load`.")
@click.option("--bundled/--no-bundled", default=True, show_default=True,
              help="Include the bundled ontology and article facts.")
@click.option("--force", is_flag=True, help="Rebuild even if no file changed.")
@click.option("--answers/--no-answers", "answers", default=None,
              help="Keep each stored query's answer with the store, for instant `kg query NAME` "
                   "(default: on for a new store, else as it was).")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.pass_context
def load_command(ctx, store_dir, bundled, force, answers, files):
    """Load the bundled graph plus FILES into a persistent store, for fast reopening.

    Later commands use it with `kg --store DIR …`; it is refreshed when a file changes.

    \b
    Example:
      kg load --store deals.db my-deals.ttl
      kg --store deals.db query circular-deals
    """
    from kg.store import load_store

    obj = ctx.find_root().obj or {}
    store_dir = store_dir or obj.get("store_dir")
    if not store_dir:
        raise UsageError("kg load needs --store DIR (where to keep the store)")
    from kg.cli import _input_bytes, watchdog
    watchdog(ctx).allow_input(_input_bytes(list(obj.get("data", [])) + list(files), None))  # memory ∝ data
    info = load_store(store_dir, list(obj.get("data", [])) + list(files), bundled=bundled, force=force,
                      answers=answers)
    if info.rebuilt:
        click.echo(f"loaded {info.triples:,} triples from {len(info.files)} files into {info.directory} "
                   f"in {info.seconds:.1f} s")
    else:
        click.echo(f"{info.directory} is up to date: {info.triples:,} triples from {len(info.files)} files")
    if info.answers is not None:
        click.echo(f"stored the answers of {info.answers.answers} queries ({info.answers.rows:,} rows) "
                   f"in {info.answers.seconds:.1f} s")


@main.command("synth")
@click.option("--deals", type=click.IntRange(min=0), default=1000, show_default=True, help="Number of deals.")
@click.option("--orgs", type=click.IntRange(min=10), default=None,
              help="Number of organizations (default: one per ten deals, at least 10).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same file.")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
              help="Turtle file to write (- for standard output).")
def synth_command(deals, orgs, seed, output):
    """Write a synthetic deal network (Turtle) shaped like the article's data, for scale tests.

    10% of the deals are circular pairs (two deals in opposite directions, kg:exchangedFor each
    other, recorded as kg:CircularArrangement); the rest only run from investors to labs to cloud
    providers and chip vendors. Only the pairs are named loops; longer loops (3 or 4 parties) also
    form through a pair's deal that runs back up, and are not marked "named in the source".
    Not real data.

    \b
    Example:
      kg synth --deals 10000 --seed 1 -o synth.ttl
      kg --data synth.ttl cycles --max-length 2
    """
    from kg.files import check_output_path, open_output
    from kg.synth import default_orgs, min_orgs, write_synthetic

    orgs = default_orgs(deals) if orgs is None else orgs
    if orgs < min_orgs(deals):
        raise UsageError(f"--orgs {orgs} is too few for {deals} deals' circular pairs (use at least {min_orgs(deals)})")
    check_output_path(output)
    try:
        with open_output(output) as out:
            stats = write_synthetic(out, deals, orgs, seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    click.echo(f"kg synth: {stats.deals} deals ({stats.circular_pairs} circular pairs), "
               f"{stats.organizations} organizations, {stats.conditions} conditions, seed {seed}"
               + ("" if output == "-" else f" -> {output}"), err=True)
