"""Circular deals: loops of value flows (``kg cycles``), found with a bounded search of their own and
ranked by the value moved around them."""

from __future__ import annotations

from typing import Iterator

import networkx as nx

from kg.flows.common import SCAN_LIMIT, _check_bound, _kinds, _sum
from kg.flows.paths import _hop, _money_digraph, _path_record


def iter_cycles(G: nx.MultiDiGraph, max_length: int = 4, kinds=None) -> Iterator[dict]:
    """Circular deals: simple cycles of value flows of at most ``max_length`` parties (like
    networkx's ``simple_cycles(G, length_bound=...)``), each as a dict with ``nodes`` (starting at the
    party whose label sorts first), ``hops`` (as in :func:`iter_paths`, the last hop returning to the
    start), ``gross_low``/``gross_high`` (all value moved around the loop), ``net`` (per party: value in
    minus value out within the loop, on firm and on upper amounts), ``capacity`` (the most that can go
    all the way round), ``conditions``, ``sources`` and ``arrangements`` (the source's own
    kg:CircularArrangement nodes covering the loop's deals).
    """
    kinds = _kinds(kinds)
    _check_bound("--max-length", max_length)
    D = _money_digraph(G, kinds)
    for cycle in _short_cycles(D, max_length):
        yield _cycle_record(G, _rotate(cycle, lambda node: G.nodes[node]["label"]), kinds)


def _rotate(cycle: list[str], label) -> list[str]:
    """The cycle starting at the party whose label (``label(node)``) sorts first."""
    start = min(range(len(cycle)), key=lambda i: (label(cycle[i]).casefold(), cycle[i]))
    return cycle[start:] + cycle[:start]


def _cycle_record(G: nx.MultiDiGraph, nodes: list[str], kinds) -> dict:
    """A circular deal of :func:`iter_cycles`, for a cycle ``nodes`` already rotated by :func:`_rotate`."""
    ring = nodes + [nodes[0]]
    hops = [_hop(G, a, b, kinds) for a, b in zip(ring, ring[1:])]
    record = _path_record(G, ring, hops, cycle=True)
    record["gross_low"], record["gross_high"], record["gross_high_known"] = _gross([(h["low"], h["high"])
                                                                                    for h in hops])
    record["amounts_stated"] = all(h["low"] is not None for h in hops)
    record["net"] = _cycle_net(G, nodes, hops)
    deals = {e["deal"] for h in hops for e in h["edges"]}
    # A loop is one the source names only when the arrangement covers every hop of it: a longer loop that
    # merely passes through one deal of a named pair is not that pair.
    per_hop = [{a for e in h["edges"] for a in e["arrangements"]} for h in hops]
    record["arrangements"] = sorted(set.intersection(*per_hop)) if per_hop else []
    record["deals"] = sorted(deals)
    record["terms_text"] = [h["terms_text"] for h in hops]
    return record


def _gross(hops: list[tuple]) -> tuple[float | None, float | None, float | None]:
    """(gross_low, gross_high, gross_high_known) of a loop from its hops' (low, high): all the value
    moved around it, on firm amounts, on upper bounds (None when one is open), and on the upper bounds
    stated. All None when no hop states an amount."""
    if all(low is None for low, _high in hops):
        return None, None, None
    highs = [high for _low, high in hops]
    return (_sum(low for low, _high in hops if low is not None),
            _sum(highs) if all(h is not None for h in highs) else None,
            _sum(h for h in highs if h is not None))


def _cycle_order(gross_low, gross_high, gross_high_known, nodes_labels: list[str]):
    """How :func:`cycles` ranks loops: the most value moved around first, then the shortest, then by name."""
    size = gross_high if gross_high is not None else max(gross_high_known or 0.0, gross_low or 0.0)
    return (-size, len(nodes_labels), nodes_labels)


def _short_cycles(D: nx.DiGraph, max_length: int) -> Iterator[list[str]]:
    """The simple cycles of ``D`` of at most ``max_length`` nodes (as ``networkx.simple_cycles(D,
    length_bound=max_length)`` finds them), each once, starting at its smallest node.

    networkx's bounded search took minutes on 100,000 synthetic deals (10,000 parties); this one takes
    a fraction of a second. For each start node s, in sorted order, it looks for the cycles whose other
    nodes all sort after s: a breadth-first search backwards from s finds how far each such node is
    from s, and the depth-first search forwards only steps to a node that can still get back to s within
    the length. Cycles come in a fixed order: by start node, then depth first through the successors
    in sorted order (the order of the nodes in ``D`` does not matter).

    >>> D = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "c")])
    >>> list(_short_cycles(D, 3)), list(_short_cycles(D, 2))
    ([['a', 'b'], ['a', 'b', 'c'], ['c']], [['a', 'b'], ['c']])
    """
    component_of = {}
    for number, component in enumerate(nx.strongly_connected_components(D)):
        for node in component:
            component_of[node] = number
    # A cycle lies within one strongly connected component; a component of one node holds one only if
    # the node pays itself.
    succ = {n: sorted(w for w in D.successors(n) if component_of[w] == component_of[n]) for n in D}
    pred = {n: [u for u in D.predecessors(n) if component_of[u] == component_of[n]] for n in D}
    for s in sorted(n for n in D if succ[n]):
        back = {s: 0}  # node -> fewest steps from it back to s, through nodes after s
        frontier = [s]
        for steps in range(1, max_length):
            reached = []
            for v in frontier:
                for u in pred[v]:
                    if u > s and u not in back:
                        back[u] = steps
                        reached.append(u)
            frontier = reached
        path, on_path, todo = [s], {s}, [iter(succ[s])]
        while todo:
            for nxt in todo[-1]:
                if nxt == s:
                    yield list(path)
                elif nxt in back and nxt not in on_path and len(path) + back[nxt] <= max_length:
                    path.append(nxt)
                    on_path.add(nxt)
                    todo.append(iter(succ[nxt]))
                    break
            else:
                todo.pop()
                on_path.discard(path.pop())


def _cycle_net(G, nodes, hops) -> list[dict]:
    result = []
    for node in nodes:
        ins = [h for h in hops if h["to"] == node]
        outs = [h for h in hops if h["from"] == node]

        def total(hs, key):
            vals = [h[key] for h in hs]
            return None if any(v is None for v in vals) else _sum(vals)
        firm = (None if total(ins, "low") is None or total(outs, "low") is None
                else total(ins, "low") - total(outs, "low"))
        upper = (None if total(ins, "high") is None or total(outs, "high") is None
                 else total(ins, "high") - total(outs, "high"))
        result.append({"node": node, "label": G.nodes[node]["label"], "net_firm": firm, "net_upper": upper})
    return result


def cycles(G: nx.MultiDiGraph, max_length: int = 4, kinds=None, limit: int = 200) -> list[dict]:
    """:func:`iter_cycles`, largest first (by the most value moved around), at most ``limit`` of them."""
    found = []
    for cycle in iter_cycles(G, max_length, kinds):
        found.append(cycle)
        if len(found) >= SCAN_LIMIT:
            break

    def key(c):
        return _cycle_order(c["gross_low"], c["gross_high"], c["gross_high_known"], c["nodes_labels"])
    return sorted(found, key=key)[:limit]
