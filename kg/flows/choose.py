"""Choosing what a picture of the deal web can show: the largest flows, as many as fit.

A page of the whole deal web draws at most :data:`MAX_NODES` organizations and people: flows are
taken from the largest down while their parties fit (:func:`largest_flows`). On a store the choice
`kg viz` makes with no options is worked out once with the flow index (:func:`default_choice`, kept
in it), so that drawing the deal web of a million deals ranks none of them again.

>>> from kg.graph import load_graph
>>> from kg.flows import FlowReader
>>> choice = default_choice(FlowReader(load_graph()), max_nodes=3)
>>> choice["nodes"] > 3 and choice["left_out"] == choice["edges"] - len(choice["drawn"]) > 0
True
>>> u, v, data, u_label, v_label = choice["largest_left_out"][0]
>>> sorted(data)
['amount_text', 'kind', 'terms_text']
"""

from __future__ import annotations

#: Above this many nodes a page gets slow to lay out; ``kg viz`` keeps the largest flows only.
MAX_NODES = 500
#: How many of the flows left out a page lists (largest first).
LISTED_LEFT_OUT = 200
#: What describing a flow left out reads of it (kg.viz).
_DESCRIBED = ("kind", "amount_text", "terms_text")


def rank_key(edge) -> tuple:
    """Largest first (by its upper bound, else its lower bound, else 0), then by the edge's key:
    ``sorted(edges, key=rank_key)`` for edges (u, v, key, attributes). Written out, as a page of a
    hundred thousand flows sorts them all."""
    data = edge[3]
    value = data.get("high")
    if value is None:
        value = data.get("low")
    return (-float(value) if value is not None else -0.0, edge[0], edge[1], edge[2])


def largest_flows(G, edges, top, max_nodes, focus_key) -> tuple[list | None, list]:
    """(keys (u, v, k) of the flows to draw, or None when all fit; (u, v, attributes) of those left
    out, largest first).

    ``edges`` are G's (u, v, key, attributes). Flows are taken from the largest down while fewer than
    ``top`` are taken and their parties stay within ``max_nodes``; ties keep the graph's (sorted,
    deterministic) order.
    """
    if top is None and len(G.nodes) <= max_nodes:
        return None, []
    ranked = sorted(edges, key=rank_key)
    kept, seen, left = [], ({focus_key} if focus_key is not None else set()), []
    for u, v, k, data in ranked:
        if (top is None or len(kept) < top) and u in seen and v in seen:  # no new party: always fits
            kept.append((u, v, k))
            continue
        new = {u, v} - seen
        if (top is None or len(kept) < top) and len(seen) + len(new) <= max_nodes:
            kept.append((u, v, k))
            seen |= new
        else:
            left.append((u, v, data))
    return kept, left


def default_choice(reader, max_nodes: int = MAX_NODES) -> dict:
    """What `kg viz` draws of the whole deal web with no options (no focus, what-if or top), as JSON:
    how many nodes and edges the deal web has (``nodes``, ``edges``), the keys of the edges drawn
    (``drawn``), how many are left out (``left_out``) and the first :data:`LISTED_LEFT_OUT` of those
    (``largest_left_out``: u, v, what describing it reads, the labels of u and v). ``reader`` is a
    :class:`kg.flows.FlowReader` without what-if."""
    from kg.flows.graph import EdgeTable

    G = reader.outline(include_relations=True, graph_class=EdgeTable)
    edges = [(u, v, k, data) for (u, v, k), data in G.edges.items()]
    kept, left = largest_flows(G, edges, None, max_nodes, None)
    return {"max_nodes": max_nodes, "nodes": len(G.nodes), "edges": len(edges),
            "drawn": [list(key) for key in (kept if left else ((u, v, k) for u, v, k, _data in edges))],
            "left_out": len(left),
            "largest_left_out": [[u, v, {name: data.get(name) for name in _DESCRIBED},
                                  G.nodes[u]["label"], G.nodes[v]["label"]] for u, v, data in left[:LISTED_LEFT_OUT]]}
