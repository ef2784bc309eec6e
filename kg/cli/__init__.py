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


def error_line(message: str) -> None:
    """Print ``kg: error: MESSAGE`` on stderr as one line, control characters escaped (kg.terminal)."""
    from kg.terminal import printable

    click.echo(f"kg: error: {printable(str(message), keep_newlines=False)}", err=True)


class KgGroup(click.Group):
    """A click group that reports ``KgError`` and click's usage errors as one clean line (exit 2),
    unless ``--debug`` is given (then the traceback, with the same exit code).

    A watchdog (kg.limits) runs through every command: a memory budget, and ``kg query --timeout``.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        # rdflib logs a traceback when a literal's value cannot be computed (a 5,000-digit integer);
        # the literal stays usable as written, so that is no error for kg's user.
        import logging
        logging.getLogger("rdflib.term").setLevel(logging.ERROR)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:  # usage errors: missing argument, bad option or value
            if "--debug" in argv:
                import traceback
                traceback.print_exc()
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (try '{exc.ctx.command_path} --help')"
            error_line(exc.format_message().rstrip(".") + hint)
            sys.exit(exc.exit_code)
        except KgError as exc:  # re-raised under --debug: the traceback, then the usual exit code
            import traceback
            traceback.print_exc()
            sys.exit(exc.exit_code)
        except click.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        from kg.limits import Watchdog

        ctx.ensure_object(dict)
        watchdog = None
        try:
            watchdog = ctx.obj.setdefault("watchdog", Watchdog()).start()
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
            error_line(str(exc))
            ctx.exit(exc.exit_code)
        except (BrokenPipeError, KeyboardInterrupt):  # `kg ... | head`, Ctrl-C: quiet exit
            sys.stderr.close()
            ctx.exit(130)
        finally:
            if watchdog is not None:
                watchdog.stop()


@click.group(cls=KgGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False),
              help="Add a Turtle (or other RDF) file to the bundled graph; repeatable.")
@click.option("--store", "store_dir", type=click.Path(file_okay=False), default=None,
              help="Use a persistent Oxigraph store in DIR (see `kg load`).")
@click.option("--endpoint", envvar="KG_ENDPOINT", default=None, metavar="URL",
              help="Read the graph from a SPARQL endpoint instead (env KG_ENDPOINT; see docs/remote.md).")
@click.option("--graph", "graph_iri", envvar="KG_GRAPH", default=None, metavar="IRI",
              help="With --endpoint: read only this named graph (env KG_GRAPH).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="kg-ai-money", prog_name="kg")
@click.pass_context
def main(ctx, data_files, store_dir, endpoint, graph_iri, debug):
    """kg: the knowledge graph of the AI industry's money.

    Query the bundled graph with SPARQL, look entities up, trace money flows and circular deals,
    validate the data, and draw the deal web as an HTML page.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, data=list(data_files), store_dir=store_dir, endpoint=endpoint, graph=graph_iri)


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
    if obj.get("endpoint"):
        from kg.remote import open_endpoint_graph
        graph = open_endpoint_graph(obj["endpoint"], obj.get("graph"), data=data, store_dir=store_dir,
                                    copy=rdflib_store,
                                    budget=obj["watchdog"].allow_input if "watchdog" in obj else None)
        ctx.call_on_close(getattr(graph.store, "close", lambda: None))  # the endpoint's connections
        return graph
    if "watchdog" in obj:  # memory in proportion to the data given (kg.limits.memory_limit)
        obj["watchdog"].allow_input(_input_bytes(data, store_dir))
    if store_dir:
        from kg.store import open_store, store_files
        if rdflib_store:
            open_store(store_dir, data).close()  # refresh first, so the files listed are current
            return load_graph(store_files(store_dir), bundled=False)
        graph = open_store(store_dir, data)
        ctx.call_on_close(graph.close)  # releases the store's read lock when the command ends
        return graph
    if data and not rdflib_store:
        return _load_data_files(data)
    return load_graph(data, store="default" if rdflib_store else "oxigraph")


def _input_bytes(data, store_dir) -> int:
    """Bytes of the data a command works on: the ``--data`` files and the store's own database
    (its size on disk, not the manifest's list: a planted manifest entry is never looked at)."""
    import os

    total = 0
    for path in data:
        try:
            total += os.stat(path).st_size
        except (OSError, TypeError, ValueError):
            pass  # reported when the file is read
    if store_dir:
        from kg.store import DATABASE_NAME
        for folder, _dirs, names in os.walk(os.path.join(store_dir, DATABASE_NAME)):
            for name in names:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
    return total


def watchdog(ctx: click.Context):
    """The running command's kg.limits.Watchdog (one that does nothing outside ``kg``'s group)."""
    from kg.limits import Watchdog

    obj = ctx.find_root().obj or {}
    return obj.get("watchdog") or Watchdog()


def _load_data_files(data: list):
    """The bundled graph plus ``--data`` files on Oxigraph: in memory, or, when the files would need
    more memory than kg.store.memory_budget(), in a temporary on-disk store (saying so on stderr)."""
    from kg.graph import bundled_files, load_graph
    from kg.store import HINT_FILE_BYTES, MEMORY_PER_FILE_BYTE, files_size, load_temporary_store, memory_budget

    size = files_size(data)
    hint = "for repeated use, load them once: `kg load --store DIR FILES`, then `kg --store DIR …`"
    if size * MEMORY_PER_FILE_BYTE > memory_budget():
        need = size * MEMORY_PER_FILE_BYTE
        need_text = f"{need / 2**30:,.1f} GB" if need >= 2**30 else f"{need / 2**20:,.0f} MB"
        click.echo(f"kg: note: the --data files hold {size / 2**20:,.0f} MB of RDF, too much to hold in memory "
                   f"comfortably (about {need_text}); loading them into a temporary "
                   f"on-disk store instead; {hint}", err=True)
        return load_temporary_store(bundled_files() + list(data))
    if size > HINT_FILE_BYTES:
        click.echo(f"kg: note: reading {size / 2**20:,.0f} MB of --data files; {hint}", err=True)
    return load_graph(data, store="oxigraph")


# Importing the command modules registers their commands on `main`; they import only click and light
# parts of kg at module level, so `kg --help` and `kg query` stay fast.
from kg.cli import flow_commands, query_commands, serve_command, store_commands, validate_command, viz_command  # noqa: E402,F401
from kg.cli import remote_commands  # noqa: E402,F401
