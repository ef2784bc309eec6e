"""Totals and net positions: money in and out per party (``kg flows``), on firm amounts and on upper
bounds."""

from __future__ import annotations

import networkx as nx

from kg.amounts import format_usd
from kg.errors import UnknownEntityError
from kg.flows.common import _kind_order, _kinds
from kg.flows.paths import _edge_dict

#: Statuses whose low does not add to the "at least" sums (docs/semantics.md).
PROJECTED = ("projected", "planned", "estimated")


def _empty_side() -> dict:
    return {"firm": 0.0, "upper": 0.0, "approximate": False, "unbounded": 0, "unstated": 0, "deals": 0, "joint": []}


def _book(side: dict, data: dict, G: nx.MultiDiGraph | None = None, joint: bool = False) -> None:
    """Add one deal's amount to a side. A joint amount (one figure for this party and others together)
    is listed in ``joint`` and not added: it is never split, and counted in full on the other side."""
    side["deals"] += 1
    if data["low"] is None:
        side["unstated"] += 1
        return
    if joint:
        others = [G.nodes[o]["label"] if G is not None and o in G else o for o in data.get("shared_with") or ()]
        side["joint"].append({"deal": data["deal"], "with": others, "low": data["low"], "high": data["high"],
                              "text": data["amount_text"].split(" jointly with ")[0]})
        return
    low = data["low"] if data.get("status") not in PROJECTED else 0.0  # a projection adds to "at most" only
    side["firm"] += low
    if data["high"] is None:  # no upper limit: the upper sum counts its lower bound, flagged
        side["unbounded"] += 1
        side["upper"] += data["low"]
    else:
        side["upper"] += data["high"]
    side["approximate"] = side["approximate"] or data["approximate"]


def net_positions(G: nx.MultiDiGraph, kinds=None) -> dict[str, dict]:
    """Per node: ``in`` and ``out`` (each ``{kind: side}`` plus ``"all"``), and ``net_firm`` /
    ``net_upper`` (value in minus value out, on the "at least" and on the "at most" sums).

    A side holds ``firm``, the "at least" sum (the lows of firm, derived and conditional amounts: what
    moves whatever happens; docs/semantics.md), ``upper``, the "at most" sum (every high; an amount with
    no upper limit adds its lower bound and counts in ``unbounded``), ``unstated`` (deals with no
    amount), ``approximate``, and ``joint``: the amounts this party gives (or gets) together with
    others under one figure, listed apart and not added. A joint amount is counted once, in full, on
    the side of the single party at its other end; every other amount adds the same to one party's
    ``in`` and another's ``out``. So over all nodes the net positions sum to the joint amounts given
    together (received together, negated), and to zero when there are none.
    """
    kinds = _kinds(kinds)
    result = {n: {"node": n, "label": G.nodes[n]["label"], "label_zh": G.nodes[n]["label_zh"],
                  "in": {"all": _empty_side()}, "out": {"all": _empty_side()}} for n in G.nodes}
    booked = set()  # (node, side, deal): a deal with several givers reaches its taker by several edges
    for u, v, data in G.edges(data=True):
        if data["kind"] not in kinds:
            continue
        for node, side in ((u, "out"), (v, "in")):
            if (node, side, data["deal"]) in booked:
                continue
            booked.add((node, side, data["deal"]))
            joint = data.get("shared_side") == ("givers" if side == "out" else "takers")
            _book(result[node][side].setdefault(data["kind"], _empty_side()), data, G, joint)
            _book(result[node][side]["all"], data, G, joint)
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
            for key in ("firm", "upper", "unbounded", "unstated", "deals", "joint"):
                total[key] += side[key]
            total["approximate"] = total["approximate"] or side["approximate"]
    return total


def side_text(side: dict) -> str:
    """A side of :func:`net_positions` as text: at least – at most, what is not stated, and the amounts
    given or received jointly with others, apart.

    >>> side_text({"firm": 20e9, "upper": 130e9, "approximate": False, "unbounded": 0, "unstated": 1, "deals": 4})
    '$20B–130B; +1 unstated'
    >>> side_text({"firm": 0.0, "upper": 0.0, "approximate": False, "unbounded": 0, "unstated": 0, "deals": 1,
    ...            "joint": [{"with": ["Amazon"], "text": "$1B–10B"}]})
    'jointly with Amazon: $1B–10B'
    >>> side_text({"firm": 0.0, "upper": 0.0, "approximate": False, "unbounded": 0, "unstated": 2, "deals": 2})
    '2 unstated'
    """
    if not side["deals"]:
        return "–"
    parts = []
    joint = side.get("joint") or []
    stated = side["deals"] - side["unstated"] - len(joint)
    if stated:
        approx = "~ " if side["approximate"] else ""
        if side["firm"] == side["upper"] and not side["unbounded"]:
            parts.append(f"{approx}{format_usd(side['firm'])}")
        elif side["unbounded"]:
            parts.append(f"{approx}at least {format_usd(side['firm'])}, no upper limit")
        else:
            parts.append(f"{approx}{format_usd(side['firm'])}–{format_usd(side['upper']).lstrip('$')}")
    if side["unstated"]:
        parts.append(f"{'+' if parts else ''}{side['unstated']} unstated")
    parts.extend(f"jointly with {' and '.join(j['with'])}: {j['text']}" for j in joint)
    return "; ".join(parts)
