"""Loading the graph into an external SPARQL store: `kg push`.

The bundled graph plus the user's files replace the content of one named graph, in three steps:

With a Graph Store Protocol URL (``--gsp-url``), one streamed ``PUT`` of N-Triples replaces the
graph's content: the store applies it whole or not at all. Past :data:`GSP_REQUEST` triples it is a PUT
of the first ones and POSTs of the rest (a failure then says to push again). Without a GSP URL,
SPARQL Update does it in three steps:

1. the triples are sent into a temporary graph (``IRI`` + :data:`PARTIAL_SUFFIX`), emptied first,
   with ``INSERT DATA`` in batches small enough for every store's parser;
2. the temporary graph's triple count is checked against what was sent;
3. ``MOVE`` puts it in place of the named graph in one update (slow on some stores: Oxigraph copies
   triple by triple, which is why the GSP is preferred where there is one).

Either way the named graph's count is checked afterwards; a push that dies midway leaves the named
graph as it was (only the temporary graph is half full), and running the same push again completes
it: no duplicates, whatever happened before. Pushing the same files twice leaves the same triples.

Blank nodes are sent as skolem IRIs (:data:`kg.remote.SKOLEM`): a query cannot name a blank node,
and kg reads them back as blank nodes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from kg.errors import UsageError
from kg.remote import Endpoint, EndpointError, skolemize, skolemized_ntriples

#: Appended to the named graph's IRI to name the temporary graph a push fills first.
PARTIAL_SUFFIX = "--kg-push-partial"
#: Triples per INSERT DATA request (Virtuoso's SPARQL parser runs out of memory near 5,000).
UPDATE_BATCH = 2_000
#: Triples per progress step of a Graph Store Protocol PUT.
GSP_BATCH = 50_000
#: Most triples in one Graph Store Protocol request: a larger graph goes as a PUT of the first ones (which
#: replaces the graph's content) and POSTs of the rest. One PUT of 2.27M triples (100k synthetic deals)
#: left Virtuoso 7.2 waiting on its own locks, idle, for minutes ("Monitor: Many lock waits" in its log).
GSP_REQUEST = 250_000
#: The slowest rate a store is given to take in or move a graph before a request times out (a PUT or
#: MOVE of millions of triples takes minutes): the time limit is at least triples / this many seconds.
SLOWEST_RATE = 2_000


@dataclass(frozen=True)
class PushResult:
    """What a push did: the graph, its triple count afterwards, the method and how long it took."""

    graph: str
    triples: int
    method: str
    seconds: float


def local_triples(files: Iterable[str | Path], *, bundled: bool = True):
    """The bundled graph plus ``files``, parsed into an in-memory pyoxigraph store (duplicates merged)."""
    from kg.graph import bundled_files
    from kg.store import load_oxigraph

    paths = (bundled_files() if bundled else []) + [Path(p) for p in files]
    if not paths:
        raise UsageError("nothing to push: give files, or leave the bundled data in (no --no-bundled)")
    return load_oxigraph(paths).store._inner


def push(endpoint: Endpoint, graph: str, files: Iterable[str | Path] = (), *, bundled: bool = True,
         progress: Callable[[int], None] | None = None, started: Callable[[int], None] | None = None) -> PushResult:
    """Replace the content of the named ``graph`` at ``endpoint`` with the bundled graph plus ``files``.

    ``started(total)`` is called once the files are read, ``progress(n)`` after each batch of ``n``
    triples. Raises EndpointError with what to rerun when the store fails midway.
    """
    if not graph or any(c in graph for c in "<>\" {}|\\^`") or ":" not in graph:
        raise UsageError(f"--graph {graph!r}: give the named graph's absolute IRI, e.g. https://example.org/aimoney")
    clock = time.perf_counter()
    store = local_triples(files, bundled=bundled)
    total = len(store)
    if started is not None:
        started(total)
    partial = graph + PARTIAL_SUFFIX
    method = "graph store protocol" if endpoint.gsp_url else "sparql update"
    if endpoint.gsp_url:
        return _put(endpoint, graph, store, total, progress, clock)
    sent = 0
    try:
        endpoint.update(f"DROP SILENT GRAPH <{partial}>", what=" (emptying the temporary graph)")
        lines = skolemized_ntriples(store).decode("utf-8").splitlines(keepends=True)
        for batch in _batches(lines, UPDATE_BATCH):
            endpoint.update(f"INSERT DATA {{ GRAPH <{partial}> {{\n{''.join(batch)}}} }}", what=" (sending triples)")
            sent += len(batch)
            if progress is not None:
                progress(len(batch))
        landed = endpoint.count(partial)
        if landed != total:
            raise EndpointError(f"the store holds {landed} of the {total} triples sent to <{partial}>; "
                                f"<{graph}> is unchanged")
        endpoint.update(f"MOVE GRAPH <{partial}> TO GRAPH <{graph}>", what=" (moving the pushed graph in place)",
                        timeout=total / SLOWEST_RATE)
        final = endpoint.count(graph)
    except EndpointError as exc:
        raise EndpointError(f"{exc} — push stopped after {sent:,} of {total:,} triples; <{graph}> keeps its "
                            f"previous content unless the final MOVE ran; run the same `kg push` again to "
                            f"complete it") from None
    if final != total:
        raise EndpointError(f"<{graph}> holds {final} triples after the push, {total} were sent: "
                            f"something else writes to it; run the same `kg push` again")
    return PushResult(graph, final, method, time.perf_counter() - clock)


def _put(endpoint: Endpoint, graph: str, store, total: int, progress, clock: float) -> PushResult:
    """One Graph Store Protocol PUT of every triple, streamed: the store replaces the graph's content in
    one request, so a PUT that fails leaves the old content (the store discards a partial body). Past
    :data:`GSP_REQUEST` triples, a PUT of the first ones and POSTs of the rest: one that fails leaves the
    graph partial, and the message says to run the push again (the rerun's PUT replaces it all)."""
    import pyoxigraph as ox

    gsp = endpoint.gsp_url
    # Written by pyoxigraph at once (Virtuoso refuses a chunked body, HTTP 501: each request's length
    # must be known); the blank nodes are made skolem IRIs request by request, in a thread, while the
    # store takes in the request before (at 100k deals, 25 s of a 176 s push went on them before the
    # first byte was sent).
    text = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    chunks, start = [], 0
    while start < len(text):  # pieces of whole lines, to report progress by
        end = text.find(b"\n", min(start + GSP_BATCH * 150, len(text) - 1)) + 1 or len(text)
        chunks.append((text.count(b"\n", start, end), start, end))
        start = end
    requests, lines = [[]], 0  # the pieces each request sends
    for count, begin, end in chunks:
        if lines + count > GSP_REQUEST and requests[-1]:
            requests.append([])
            lines = 0
        requests[-1].append((count, begin, end))
        lines += count

    def prepared(pieces) -> list:
        return [(count, skolemize(text[begin:end])) for count, begin, end in pieces]

    def body(pieces):
        for count, chunk in pieces:
            yield chunk
            if progress is not None:
                progress(count)
    try:
        # A small request first, so that a Digest challenge is answered before the large body is sent
        # (else the body would go twice); it also checks the URL and the credentials.
        endpoint.request("GET", gsp, params={"graph": graph + PARTIAL_SUFFIX}, also_ok=(404,),
                         headers={"Accept": "application/n-triples"}, what=" (checking the Graph Store Protocol URL)")
        with ThreadPoolExecutor(1) as worker:
            following = worker.submit(prepared, requests[0])
            for number in range(len(requests)):
                pieces = following.result()
                if number + 1 < len(requests):
                    following = worker.submit(prepared, requests[number + 1])
                _send(endpoint, graph, "PUT" if number == 0 else "POST", pieces, body)
        final = endpoint.count(graph)
    except EndpointError as exc:
        raise EndpointError(f"{exc} — the push did not complete; run the same `kg push` again") from None
    if final != total:
        raise EndpointError(f"<{graph}> holds {final} triples after the push, {total} were sent; "
                            f"run the same `kg push` again")
    return PushResult(graph, final, "graph store protocol", time.perf_counter() - clock)


def _send(endpoint: Endpoint, graph: str, method: str, pieces: list, body) -> None:
    """One Graph Store Protocol request of a push: the PUT that replaces the graph's content, or a POST
    that adds to it; ``pieces`` are (triples, N-Triples) sent by ``body(pieces)``."""
    sent = sum(count for count, _chunk in pieces)
    endpoint.request(method, endpoint.gsp_url, params={"graph": graph}, content=body(pieces), retry=False,
                     headers={"Content-Type": "application/n-triples",
                              "Content-Length": str(sum(len(chunk) for _n, chunk in pieces))},
                     what=" (sending triples)", timeout=sent / SLOWEST_RATE)


def _batches(lines, size: int):
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
