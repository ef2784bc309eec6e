"""The ``kg serve`` command: a read-only SPARQL endpoint and browser workbench (kg.server)."""

from __future__ import annotations

import os

import click

from kg.cli import data_option, main
from kg.errors import UsageError


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback makes the graph reachable from other machines.")
@click.option("--port", type=click.IntRange(0, 65535), default=7878, show_default=True, help="Port to listen on.")
@click.option("--timeout", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="Time limit of each query, page or API call; over it the work is stopped and 503 answered.")
@click.option("--max-rows", type=click.IntRange(1, None), default=10_000, show_default=True,
              help="At most this many rows (or triples) per answer; cut answers say so (X-KG-Truncated).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Query worker processes, each holding the graph (default: CPU count, 2–4).")
@click.option("--max-queue", type=click.IntRange(0, 100_000), default=64, show_default=True,
              help="Requests that may wait for a worker; more are refused with 429.")
@click.option("--max-body", type=click.IntRange(1, None), default=1_000_000, show_default=True, metavar="BYTES",
              help="Largest request body accepted; larger gets 413.")
@click.option("--cors", "cors", multiple=True, metavar="ORIGIN",
              help="Let web pages from ORIGIN (or '*') read answers (CORS); off by default. Repeatable.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also accept requests addressed to NAME (Host header), e.g. behind a proxy. Repeatable.")
@click.option("--cache-size", default="64M", show_default=True, metavar="SIZE",
              help="Memory for answers kept to give again (same query, format and limits; the data does "
                   "not change while serving), e.g. 256M; 0 turns the cache off.")
@data_option
@click.pass_context
def serve(ctx, host, port, timeout, max_rows, workers, max_queue, max_body, cors, allow_hosts, cache_size):
    """Serve the graph over HTTP: a SPARQL 1.1 endpoint at /sparql and a workbench in the browser at /.

    Read-only and safe to leave running: no SPARQL Update, no SERVICE, FROM reads only the loaded
    data, each query is stopped at --timeout, answers are capped at --max-rows, and it answers only to
    its own address when bound to loopback. Stop it with Ctrl-C.

    \b
    Examples:
      kg serve                          # http://127.0.0.1:7878/
      kg --store store/ serve --port 8000
      kg serve --data my-facts.ttl --timeout 30
    """
    import math

    from kg.server.serve import run

    from kg.limits import parse_size

    if not math.isfinite(timeout) or timeout <= 0:
        raise UsageError(f"--timeout must be a number of seconds above 0, not {timeout}")
    try:
        cache_bytes = parse_size(cache_size)
    except ValueError as exc:
        raise UsageError(f"--cache-size: {exc}") from None
    obj = ctx.find_root().obj or {}
    store_dir, data = obj.get("store_dir"), list(obj.get("data", []))
    if store_dir:
        from kg.store import open_store
        # Refresh (or fail with one line) here, once, before the workers open it read-only; then hold
        # its read lock while serving, so that no `kg load` swaps the data under the answer cache.
        held = open_store(store_dir, data)
        source = {"store": os.path.abspath(store_dir)}
    else:
        for path in data:
            if not os.path.isfile(path):
                from kg.errors import InputFileError
                raise InputFileError(f"{path}: no such file")
        source = {"data": [os.path.abspath(p) for p in data]}
        held = None
    if workers is None:
        workers = max(2, min(4, os.cpu_count() or 2))
    try:
        run(host=host, port=port, source=source, timeout=timeout, max_rows=max_rows, workers=workers,
            max_queue=max_queue, max_body=max_body, cors=tuple(cors), allowed_hosts=tuple(allow_hosts),
            cache_size=cache_bytes)
    finally:
        if held is not None:
            held.close()
