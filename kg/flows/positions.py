"""Totals and net positions: money in and out per party (``kg flows``), on firm amounts and on upper
bounds."""

from __future__ import annotations

import networkx as nx

from kg.amounts import format_usd
from kg.errors import UnknownEntityError
from kg.flows.common import _kind_order, _kinds
from kg.flows.paths import _edge_dict


def _empty_side() -> dict:
    return {"firm": 0.0, "upper": 0.0, "approximate": False, "unbounded": 0, "unstated": 0, "deals": 0}


def _book(side: dict, data: dict) -> None:
    side["deals"] += 1
    if data["booked_low"] is None:
        side["unstated"] += 1
        return
    side["firm"] += data["booked_low"]
    if data["booked_high"] is None:  # no upper limit: the upper sum counts its lower bound, flagged
        side["unbounded"] += 1
        side["upper"] += data["booked_low"]
    else:
        side["upper"] += data["booked_high"]
    side["approximate"] = side["approximate"] or data["approximate"]


def net_positions(G: nx.MultiDiGraph, kinds=None) -> dict[str, dict]:
    """Per node: ``in`` and ``out`` (each ``{kind: side}`` plus ``"all"``), and ``net_firm`` /
    ``net_upper`` (value in minus value out, on firm amounts and on upper bounds).

    A side holds ``firm`` (sum of lower bounds: what moves for sure, if the data is right), ``upper``
    (sum of upper bounds; an amount with no upper limit adds its lower bound and counts in ``unbounded``),
    ``unstated`` (deals with no amount) and ``approximate``. Every edge adds the same amounts to one
    party's ``in`` and another's ``out``, so over all nodes the net positions sum to zero.
    """
    kinds = _kinds(kinds)
    result = {n: {"node": n, "label": G.nodes[n]["label"], "label_zh": G.nodes[n]["label_zh"],
                  "in": {"all": _empty_side()}, "out": {"all": _empty_side()}} for n in G.nodes}
    for u, v, data in G.edges(data=True):
        if data["kind"] not in kinds:
            continue
        for node, side in ((u, "out"), (v, "in")):
            _book(result[node][side].setdefault(data["kind"], _empty_side()), data)
            _book(result[node][side]["all"], data)
    for rec in result.values():
        rec["net_firm"] = rec["in"]["all"]["firm"] - rec["out"]["all"]["firm"]
        rec["net_upper"] = rec["in"]["all"]["upper"] - rec["out"]["all"]["upper"]
    return result


def flow_totals(G: nx.MultiDiGraph, entity: str | None = None, kinds=None) -> list[dict]:
    """:func:`net_positions` of the parties with flows (or of ``entity`` only), the busiest first; with
    ``entity`` each record also lists its ``edges_in`` / ``edges_out`` and a ``profile``: how it is
    funded (investment in), the compute it buys itself (purchases and contracts out) and the
    infrastructure partners provide (in-kind in).
    """
    positions = net_positions(G, kinds)
    records = [r for r in positions.values() if r["in"]["all"]["deals"] or r["out"]["all"]["deals"]]
    if entity is not None:
        if entity not in G:
            raise UnknownEntityError(entity)
        records = [positions[entity]]
        kinds_ = _kinds(kinds)
        rec = records[0]
        rec["edges_in"] = [_edge_dict(G, u, v, k, d) for u, v, k, d in G.in_edges(entity, keys=True, data=True)
                           if d["kind"] in kinds_]
        rec["edges_out"] = [_edge_dict(G, u, v, k, d) for u, v, k, d in G.out_edges(entity, keys=True, data=True)
                            if d["kind"] in kinds_]
        for key in ("edges_in", "edges_out"):
            rec[key].sort(key=lambda e: (_kind_order(e["kind"]), -(e["high"] or e["low"] or 0.0), e["deal"]))
        rec["profile"] = {
            "funding": _combine(rec["in"], ("investment",)),
            "compute_bought": _combine(rec["out"], ("purchase", "contract")),
            "from_partners": _combine(rec["in"], ("in-kind",)),
        }

    def volume(r):
        return -(r["in"]["all"]["upper"] + r["out"]["all"]["upper"] + r["in"]["all"]["firm"]
                 + r["out"]["all"]["firm"])
    return sorted(records, key=lambda r: (volume(r), r["label"]))


def _combine(sides: dict, kinds) -> dict:
    total = _empty_side()
    for kind in kinds:
        side = sides.get(kind)
        if side:
            for key in ("firm", "upper", "unbounded", "unstated", "deals"):
                total[key] += side[key]
            total["approximate"] = total["approximate"] or side["approximate"]
    return total


def side_text(side: dict) -> str:
    """A side of :func:`net_positions` as text: firm amount, upper bound, and what is not stated.

    >>> side_text({"firm": 20e9, "upper": 130e9, "approximate": False, "unbounded": 0, "unstated": 1, "deals": 4})
    '$20B firm, ≤ $130B; +1 unstated'
    >>> side_text({"firm": 0.0, "upper": 0.0, "approximate": False, "unbounded": 0, "unstated": 2, "deals": 2})
    '2 unstated'
    """
    if not side["deals"]:
        return "–"
    parts = []
    stated = side["deals"] - side["unstated"]
    if stated:
        approx = "~ " if side["approximate"] else ""
        if side["firm"] == side["upper"] and not side["unbounded"]:
            parts.append(f"{approx}{format_usd(side['firm'])}")
        else:
            text = f"{approx}{format_usd(side['firm'])} firm"
            if side["unbounded"]:
                text += ", no upper limit"
            else:
                text += f", ≤ {format_usd(side['upper'])}"
            parts.append(text)
    if side["unstated"]:
        parts.append(f"{'+' if parts else ''}{side['unstated']} unstated")
    return "; ".join(parts)
