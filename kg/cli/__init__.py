"""The ``kg`` command line: a thin click layer over the library.

Each command parses its options, calls one library function, formats the result, and turns the
project's exceptions (``kg.errors``) into one line on stderr with a non-zero exit code. ``--debug``
shows the traceback instead. Commands live in topic modules (``kg.cli.query_commands`` ...) that import
heavy libraries (pyvis, networkx, pyshacl) only inside the commands that need them.
"""

from __future__ import annotations

import sys

import click

from kg.errors import KgError


class KgGroup(click.Group):
    """A click group that reports ``KgError`` as one clean line, unless ``--debug`` is given."""

    def invoke(self, ctx):
        try:
            try:
                result = super().invoke(ctx)
                sys.stdout.flush()  # `kg … > /dev/full` fails here, as one line, not at exit
                return result
            except OSError as exc:
                from kg.files import stdout_failure
                failure = stdout_failure(exc)
                if failure is None:
                    raise
                raise failure from exc
        except KgError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"kg: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (BrokenPipeError, KeyboardInterrupt):  # `kg ... | head`, Ctrl-C: quiet exit
            sys.stderr.close()
            ctx.exit(130)


@click.group(cls=KgGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False),
              help="Add a Turtle (or other RDF) file to the bundled graph; repeatable.")
@click.option("--store", "store_dir", type=click.Path(file_okay=False), default=None,
              help="Use a persistent Oxigraph store in DIR (see `kg load`).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="kg-ai-money", prog_name="kg")
@click.pass_context
def main(ctx, data_files, store_dir, debug):
    """kg: the knowledge graph of the AI industry's money.

    Query the bundled graph with SPARQL, look entities up, trace money flows and circular deals,
    validate the data, and draw the deal web as an HTML page.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, data=list(data_files), store_dir=store_dir)


def data_option(command):
    """Add a per-command ``--data`` (same meaning as the group option) to ``command``."""
    def remember(ctx, _param, value):
        ctx.ensure_object(dict)
        ctx.obj.setdefault("data", [])
        ctx.obj["data"] = ctx.obj["data"] + list(value)
        return value
    return click.option("--data", "command_data", multiple=True, type=click.Path(dir_okay=False),
                        expose_value=False, callback=remember, is_eager=True,
                        help="Add an RDF file to the bundled graph; repeatable.")(command)


def open_graph(ctx: click.Context, *, rdflib_store: bool = False):
    """The graph every command works on: bundled data plus ``--data`` files (or the ``--store``).

    It runs on the Oxigraph engine (kg.store): an in-memory store, or the persistent ``--store DIR``
    (refreshed first if its files changed; ``--data`` files are added to it). ``rdflib_store=True``
    returns rdflib's in-memory store instead: pyshacl needs it to be fast, and it keeps literals exactly
    as written (Oxigraph canonicalizes them), which `kg export` needs.
    """
    from kg.graph import load_graph

    obj = ctx.find_root().obj or {}
    data, store_dir = obj.get("data", []), obj.get("store_dir")
    if store_dir:
        from kg.store import open_store, store_files
        if rdflib_store:
            open_store(store_dir, data).close()  # refresh first, so the files listed are current
            return load_graph(store_files(store_dir), bundled=False)
        graph = open_store(store_dir, data)
        ctx.call_on_close(graph.close)  # releases the store's read lock when the command ends
        return graph
    return load_graph(data, store="default" if rdflib_store else "oxigraph")


# Importing the command modules registers their commands on `main`; they import only click and light
# parts of kg at module level, so `kg --help` and `kg query` stay fast.
from kg.cli import flow_commands, query_commands, serve_command, store_commands, validate_command, viz_command  # noqa: E402,F401
