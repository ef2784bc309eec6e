"""Hops and paths: parallel flows between two parties taken together as one hop, and the paths along
which value leaves a party (``kg trace``)."""

from __future__ import annotations

from typing import Iterator

import networkx as nx

from kg.errors import UnknownEntityError
from kg.flows.common import SCAN_LIMIT, _check_bound, _kind_order, _kinds, _sum


def _edge_dict(G, u, v, key, data) -> dict:
    return {"from": u, "to": v, "key": key, "from_label": G.nodes[u]["label"],
            "to_label": G.nodes[v]["label"], **data}


def _hop(G: nx.MultiDiGraph, u: str, v: str, kinds) -> dict | None:
    """All parallel money edges u -> v (of ``kinds``) as one hop with summed bounds."""
    edges = [_edge_dict(G, u, v, k, d) for k, d in G.get_edge_data(u, v, default={}).items()
             if d["kind"] in kinds]
    if not edges:
        return None
    low, high = _hop_bounds([(e["low"], e["high"]) for e in edges])
    stated = [e for e in edges if e["low"] is not None]
    return {
        "from": u, "to": v, "from_label": G.nodes[u]["label"], "to_label": G.nodes[v]["label"],
        "edges": edges, "kinds": sorted({e["kind"] for e in edges}, key=_kind_order),
        "low": low, "high": high,
        "stated": len(stated), "unstated": len(edges) - len(stated),
        "unbounded": sum(1 for e in stated if e["high"] is None),
        "approximate": any(e["approximate"] for e in edges),
        "amount_text": " + ".join(e["amount_text"] for e in edges),
        "terms_text": "; ".join(e["terms_text"] for e in edges if e["terms_text"]),
        "conditions": sorted({c for e in edges for c in e["conditions"]}),
    }


def _hop_bounds(bounds: list[tuple]) -> tuple[float | None, float | None]:
    """(low, high) of parallel edges taken together, from each one's (low, high): the lows summed
    (None when no edge states an amount); the highs summed, or None when an edge has no upper limit
    or no amount."""
    lows = [low for low, _high in bounds if low is not None]
    highs = [high for _low, high in bounds]
    if not lows:
        return None, None
    return _sum(lows), (_sum(highs) if all(h is not None for h in highs) else None)


def _money_digraph(G: nx.MultiDiGraph, kinds) -> nx.DiGraph:
    D = nx.DiGraph()
    D.add_nodes_from(G.nodes)
    D.add_edges_from((u, v) for u, v, d in G.edges(data=True) if d["kind"] in kinds)
    return D


def _path_record(G, nodes: list[str], hops: list[dict], cycle: bool = False) -> dict:
    highs = [h["high"] for h in hops if h["high"] is not None]
    record = {
        "nodes": list(nodes), "nodes_labels": [G.nodes[n]["label"] for n in nodes], "hops": hops,
        "capacity": _capacity(h["high"] for h in hops),
        "capacity_complete": len(highs) == len(hops),
        "conditions": sorted({c for h in hops for c in h["conditions"]}),
        "sources": sorted({tuple(s) for h in hops for e in h["edges"] for s in e["sources"]}),
    }
    return record


def _capacity(highs) -> float | None:
    """The most that can pass along a path: the smallest upper bound of its hops (None if none has one)."""
    highs = [high for high in highs if high is not None]
    return min(highs) if highs else None


def iter_paths(G: nx.MultiDiGraph, source: str, target: str | None = None, max_hops: int = 4,
               kinds=None) -> Iterator[dict]:
    """Simple paths along which value leaves ``source`` (and reaches ``target``), at most ``max_hops``
    hops, as dicts: ``nodes``, ``nodes_labels``, ``hops`` (each with its parallel ``edges``, summed
    ``low``/``high``, ``kinds``, ``amount_text``) and ``capacity`` (the smallest upper bound of the hops).

    Without ``target`` every simple path from ``source`` is yielded (each ends somewhere else).
    A generator: callers bound the output by taking what they need.
    """
    kinds = _kinds(kinds)
    _check_bound("--max-hops", max_hops)
    for node in (source, target):
        if node is not None and node not in G:
            raise UnknownEntityError(node)
    D = _money_digraph(G, kinds)
    for path in _node_paths(D, source, target, max_hops):
        hops = [_hop(G, a, b, kinds) for a, b in zip(path, path[1:])]
        yield _path_record(G, path, hops)


def _node_paths(D: nx.DiGraph, source: str, target: str | None, max_hops: int) -> Iterator[list[str]]:
    """The simple paths of :func:`iter_paths` as lists of nodes, depth first, the successors of a node
    in sorted order (so the same graph always gives the same paths in the same order)."""
    stack = [(source, [source])]
    while stack:
        node, path = stack.pop()
        if len(path) > 1 and (target is None or node == target):
            yield path
        if node == target or len(path) > max_hops:
            continue
        for nxt in sorted(D.successors(node), reverse=True):
            if nxt not in path and len(path) <= max_hops:
                stack.append((nxt, path + [nxt]))


def _path_order(capacity: float | None, nodes_labels: list[str]):
    """How :func:`trace` ranks paths: the widest first, then the shortest, then by name."""
    return (-(capacity if capacity is not None else -1.0), len(nodes_labels), nodes_labels)


def trace(G: nx.MultiDiGraph, source: str, target: str | None = None, max_hops: int = 4, kinds=None,
          limit: int = 200) -> list[dict]:
    """:func:`iter_paths`, the widest first (then the shortest), at most ``limit`` of them."""
    paths = []
    for path in iter_paths(G, source, target, max_hops, kinds):
        paths.append(path)
        if len(paths) >= SCAN_LIMIT:
            break
    return sorted(paths, key=lambda p: _path_order(p["capacity"], p["nodes_labels"]))[:limit]
