"""The deal web: the money-flow graph as one self-contained, interactive HTML page.

``render(graph)`` turns an rdflib graph into the text of an HTML page that draws the flow graph of
:func:`kg.flows.flow_graph` (organizations and people as nodes, money flows and relations as arrows
in the direction money moves) with vis-network, its nodes and edges as pyvis lays them out. The page needs no network:
vis-network's script and stylesheet are copied into it from the pyvis package, and nothing else is
linked (pyvis's own "in_line" template still loads Bootstrap from a CDN, so its template is not used).

Every string that comes from the data reaches the page as JSON inside a ``<script type="application/json">``
block (with ``<``, ``>`` and ``&`` escaped) and is put into the page by the page's script with
``textContent``, never as HTML: a label such as ``<img src=x onerror=alert(1)>`` shows as text.

The layout is deterministic: nodes and edges are sorted, vis-network's random seed is fixed, and
physics stops after a fixed number of stabilization iterations.

>>> from kg.graph import load_graph
>>> page = render(load_graph())
>>> page.startswith("<!DOCTYPE html>") and "vis.Network" in page
True
>>> import re
>>> re.findall(r'(?:src|href)\\s*=\\s*["\\']?https?:', page)
[]
"""

from __future__ import annotations

import html as _html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from rdflib import URIRef

from kg.entities import display_name
from kg.errors import UsageError
from kg.figures import local_name
from kg.flows.choose import LISTED_LEFT_OUT, MAX_NODES, largest_flows
from kg.graph import KG


#: Kinds of flows and relations (the ``kind`` of :func:`kg.flows.flow_graph` edges): id -> (name, colour).
EDGE_KINDS: dict[str, tuple[str, str]] = {
    "investment": ("Investment", "#2563eb"),
    "purchase": ("Chips / compute purchase", "#ea580c"),
    "contract": ("Cloud / service contract", "#0891b2"),
    "equity": ("Equity / options", "#9333ea"),
    "in-kind": ("In-kind value (data center, product)", "#16a34a"),
    "partnership": ("Partnership (no direction)", "#64748b"),
    "role": ("Role (person → organization)", "#a8a29e"),
    "other": ("Other", "#78716c"),
}
_RELATIONS = ("partnership", "role")

#: Kinds of nodes, in the order that picks a node's colour when it has several: id -> (name, colour).
NODE_KINDS: dict[str, tuple[str, str]] = {
    "AILab": ("AI lab", "#e11d48"),
    "CloudProvider": ("Cloud provider", "#0ea5e9"),
    "ChipVendor": ("Chip vendor", "#f59e0b"),
    "Investor": ("Investor", "#3b82f6"),
    "TechCompany": ("Tech company", "#14b8a6"),
    "NonprofitParent": ("Nonprofit parent", "#a855f7"),
    "LawFirm": ("Law firm", "#84cc16"),
    "NewsOutlet": ("News outlet", "#94a3b8"),
    "ResearchSource": ("Research source", "#94a3b8"),
    "Person": ("Person", "#f472b6"),
    "Organization": ("Other organization", "#cbd5e1"),
}

# What makes an amount uncertain enough to draw dashed: "up to" figures, open conditions, forecasts.
_DASHED_FIGURES = {"UpperBound"}
_DASHED_MODALITIES = {"Projected", "Pledged"}

_SEED = 7  # vis-network's layout seed: the same data always gives the same picture
_STABILIZATION_ITERATIONS = 250  # enough for the bundled graph to settle
_STABILIZATION_ITERATIONS_LARGE = 120  # above 150 nodes: each iteration costs more, the picture needs fewer
_MAX_CYCLES = 20000  # cycles looked at to mark loop edges; enough for any drawable page


@dataclass
class DealWeb:
    """A drawn deal web: the page, what it shows and what was left out to keep it fast."""

    html: str
    node_count: int
    edge_count: int
    loop_edge_count: int
    left_out_flows: Sequence[str] = field(default_factory=list)  # descriptions, largest first
    left_out_nodes: int = 0
    note: str = ""

    def _repr_html_(self) -> str:  # Jupyter: the page in an iframe, so its script and styles stay apart
        return (f'<iframe srcdoc="{_html.escape(self.html, quote=True)}" '
                'style="width:100%;height:680px;border:1px solid #ddd" sandbox="allow-scripts"></iframe>')


def render(graph, *, focus: str | None = None, hops: int = 1, assume=None, top: int | None = None,
           max_nodes: int = MAX_NODES, title: str | None = None, index=None) -> str:
    """The HTML page (a string) drawing ``graph``'s deal web; see :func:`build` for the options."""
    return build(graph, focus=focus, hops=hops, assume=assume, top=top, max_nodes=max_nodes,
                 title=title, index=index).html


def build(graph, *, focus: str | None = None, hops: int = 1, assume=None, top: int | None = None,
          max_nodes: int = MAX_NODES, title: str | None = None, index=None) -> DealWeb:
    """Draw ``graph``'s deal web: the nodes and edges of ``flow_graph(graph, assume, include_relations=True)``.

    ``focus`` (a name in English or Chinese, an alias or an IRI) with ``hops`` draws only the entities
    at most ``hops`` flows or relations away from it. ``assume`` is what :func:`kg.flows.flow_graph`
    takes (``{"restructuring": "failed"}``), or a list of ``"CONDITION=failed"`` strings. ``top`` keeps
    only the N largest flows. Whatever the options, at most ``max_nodes`` nodes are drawn: the largest
    flows are kept and what was left out is listed (``DealWeb.left_out_flows``). ``graph`` is not changed.

    What to draw is chosen on the flows' amounts alone (:meth:`kg.flows.FlowReader.outline`, from the
    store's flow ``index`` when given); only the flows drawn are read in full.
    """
    from kg import flows as kgflows

    if hops < 0:
        raise UsageError(f"--hops must be 0 or more, not {hops}")
    if top is not None and top < 1:
        raise UsageError(f"--top must be 1 or more, not {top}")
    if max_nodes < 1:
        raise UsageError(f"the node limit must be 1 or more, not {max_nodes}")
    if assume and not isinstance(assume, dict):
        assume = kgflows.parse_assumptions([assume] if isinstance(assume, str) else list(assume))

    reader = kgflows.FlowReader(graph, assume or None, index=index)
    # With no options, what to draw may be kept with the store's flow index (kg.flows.choose)
    stored = (index.viz_choice(max_nodes) if index is not None and focus is None and not assume and top is None
              else None)
    if stored is not None:
        focus_key, all_nodes, all_edges = None, stored["nodes"], stored["edges"]
        drawn = [tuple(key) for key in stored["drawn"]]
        left_out = _StoredLeftOut(stored, lambda: _choose(graph, kgflows, reader, None, hops, None, max_nodes)[3])
    else:
        focus_key, all_nodes, all_edges, left_out, drawn = _choose(graph, kgflows, reader, focus, hops, top, max_nodes)
    full = reader.graph(include_relations=True, deals={k for _u, _v, k in drawn})
    sub = full.edge_subgraph(drawn).copy()
    if focus_key is not None and focus_key not in sub:
        reader.add_party(sub, focus_key)
    sub.graph.update(full.graph)
    G = sub
    loops = _loop_edges(kgflows, G)

    note = ""
    if left_out:
        note = (f"Showing the {G.number_of_edges()} largest of {all_edges} flows and relations, "
                f"{G.number_of_nodes()} of {all_nodes} organizations and people. Left out: "
                f"{len(left_out)} smaller flows and {all_nodes - G.number_of_nodes()} organizations and people "
                f"(largest left out: {left_out[0]}). Use --top N or --focus ENTITY to choose what to draw.")
    page = _page(graph, G, kgflows, loops, focus_key, title, note, left_out, reader.deal_dates)
    return DealWeb(html=page, node_count=G.number_of_nodes(), edge_count=G.number_of_edges(),
                   loop_edge_count=len(loops), left_out_flows=left_out,
                   left_out_nodes=all_nodes - G.number_of_nodes(), note=note)


# --------------------------------------------------------------------------------------------------
# Choosing what to draw


def _choose(graph, kgflows, reader, focus, hops, top, max_nodes) -> tuple:
    """(the focus's node or None, how many nodes and edges there are to draw, the flows left out
    (described, largest first), the keys (u, v, k) of those drawn)."""
    focus_key = None
    if focus is not None:
        import networkx as nx
        G = reader.outline(include_relations=True)
        focus_key = kgflows.resolve_node(graph, G, focus)
        G = G.subgraph(nx.ego_graph(G, focus_key, radius=hops, undirected=True).nodes).copy()
        edges = list(G.edges(keys=True, data=True))
    else:  # the whole deal web: its edges are only counted and ranked here, without networkx
        G = reader.outline(include_relations=True, graph_class=kgflows.EdgeTable)
        edges = [(u, v, k, data) for (u, v, k), data in G.edges.items()]
    kept, left_out = _keep_largest(G, edges, top, max_nodes, focus_key)
    drawn = kept if left_out else [(u, v, k) for u, v, k, _data in edges]
    return focus_key, len(G.nodes), len(edges), left_out, drawn


def _size(data) -> float:
    """How big a flow is for drawing and ranking: its upper bound, else its lower bound, else 0."""
    value = data.get("high") if data.get("high") is not None else data.get("low")
    return float(value) if value is not None else 0.0


def _keep_largest(G, edges, top, max_nodes, focus_key):
    """Keys (u, v, k) of the flows to draw, and descriptions of those left out (largest first): see
    :func:`kg.flows.choose.largest_flows`."""
    kept, left = largest_flows(G, edges, top, max_nodes, focus_key)
    return kept, _Described(G, left)


class _Described(Sequence):
    """Descriptions of flows (:func:`_describe`), written when they are read: a page lists the first
    200 of what it leaves out, of maybe a hundred thousand."""

    def __init__(self, G, flows: list):
        self._G, self._flows = G, flows

    def __len__(self) -> int:
        return len(self._flows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_describe(self._G, *flow) for flow in self._flows[index]]
        return _describe(self._G, *self._flows[index])


class _StoredLeftOut(Sequence):
    """The flows left out of the page `kg viz` draws with no options, as kept with the store's flow
    index (:func:`kg.flows.choose.default_choice`): the first ones (all a page lists) described from
    it; the rest, which no page lists, chosen again (``everything()``) when asked for."""

    def __init__(self, stored: dict, everything):
        self._count, self._everything, self._all = stored["left_out"], everything, None
        self._first = [_flow_text(u_label, v_label, data) for _u, _v, data, u_label, v_label in stored["largest_left_out"]]

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        first = len(self._first)
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step > 0 and (stop <= first or start >= stop):
                return self._first[start:stop:step]
        elif -self._count <= index < self._count and (index if index >= 0 else index + self._count) < first:
            return self._first[index if index >= 0 else index + self._count]
        if self._all is None:
            self._all = self._everything()
        return self._all[index]


def _describe(G, u, v, data) -> str:
    return _flow_text(G.nodes[u]["label"], G.nodes[v]["label"], data)


def _flow_text(u_label: str, v_label: str, data) -> str:
    amount = data.get("amount_text") or data.get("terms_text") or "no amount"
    kind = EDGE_KINDS.get(data.get("kind"), EDGE_KINDS["other"])[0].lower()
    return f"{u_label} → {v_label}: {amount} ({kind})"


def _loop_edges(kgflows, G) -> dict:
    """(u, v, key) of every money edge on a circular deal (a cycle of kg.flows.iter_cycles) -> the loops
    it is on, as "A → B → A" texts."""
    loops: dict = {}
    for number, cycle in enumerate(kgflows.iter_cycles(G)):
        if number >= _MAX_CYCLES:
            break
        text = " → ".join(cycle["nodes_labels"])
        for hop in cycle["hops"]:
            for edge in hop["edges"]:
                loops.setdefault((edge["from"], edge["to"], edge["key"]), []).append(text)
    return loops


# --------------------------------------------------------------------------------------------------
# The page


def _name(graph, term) -> str:
    """The English label of an IRI (a string) or, without one, its local name."""
    return display_name(graph, URIRef(str(term)), fallback=False) or local_name(term)


def _node_size(money: float) -> float:
    return round(12 + 6 * math.log10(1 + money / 1e8), 2)


def _edge_width(amount: float) -> float:
    return round(1 + 1.3 * math.log10(1 + amount / 1e8), 2)


def _node_kind(kinds) -> tuple[str, list[str]]:
    known = sorted({k for k in kinds if k in NODE_KINDS}, key=list(NODE_KINDS).index) or ["Organization"]
    return known[0], known


def _dashed(data) -> bool:
    # A conditional amount is solid once --assume settles its condition (met or failed).
    conditional = data.get("condition_status") == "open" or (
        data.get("modality") == "Conditional" and data.get("condition_status") is None)
    return data.get("figure_kind") in _DASHED_FIGURES or data.get("modality") in _DASHED_MODALITIES or conditional


def _date_text(graph, deal, stored=None) -> str:
    """The deal's dates as the tip shows them; ``stored`` is (years, by-dates, time expressions) as
    texts when known (:meth:`kg.flows.FlowReader.deal_dates`), else they are read from ``graph``."""
    if not deal:
        return ""
    if stored is not None:
        years, by_dates, expressions = (sorted(texts) for texts in stored)
    else:
        term = URIRef(str(deal))
        years, by_dates, expressions = (sorted(map(str, graph.objects(term, prop)))
                                        for prop in (KG.year, KG.byDate, KG.timeExpression))
    parts = list(years)
    parts += ["by " + str(v) for v in by_dates]
    if expressions:
        parts.append("(the article says " + ", ".join(f"“{e}”" for e in expressions) + ")")
    return " ".join(parts)


def _edge_tip(graph, G, u, v, data, loops, dates=None) -> dict:
    kind = data.get("kind") if data.get("kind") in EDGE_KINDS else "other"
    source, target = G.nodes[u]["label"], G.nodes[v]["label"]
    detail = data.get("deal_class") or ""
    rows = [["Kind", EDGE_KINDS[kind][0] + (f" ({detail})" if detail and detail.lower() != kind else "")]]
    if kind == "partnership":
        rows.append(["Between", f"{source} and {target}"])
    elif kind == "role":
        rows.append(["Who", f"{source} → {target}" + (" (former)" if data.get("former") else "")])
    else:
        rows.append(["Value moves", f"{source} → {target}"])
    amount = data.get("amount_text")
    if amount:
        if data.get("approximate") and not amount.lstrip().startswith("~"):
            amount += " (approximate)"
        rows.append(["Amount", amount])
    if data.get("shared"):
        others = [G.nodes[o]["label"] if o in G else _name(graph, o) for o in data.get("shared_with") or ()]
        rows.append(["Shared", "one figure for several parties together" + (f" (with {', '.join(others)})" if others else "")])
    if data.get("terms_text"):
        rows.append(["Terms" if kind != "role" else "Role", data["terms_text"]])
    if data.get("condition_labels"):
        status = data.get("condition_status")
        rows.append(["Conditions", "; ".join(data["condition_labels"]) + (f" ({status})" if status else "")])
        if data.get("amount_met_text"):
            rows.append(["If met", data["amount_met_text"]])
        if data.get("amount_failed_text"):
            rows.append(["If it fails", data["amount_failed_text"]])
    if data.get("status") and data.get("status") != "unstated" and kind not in ("partnership", "role"):
        status = data["status"] + (f": {data['derived_by']}" if data.get("derived_by") else "")
        rows.append(["Status", status])
    date = _date_text(graph, data.get("deal"), dates(data.get("deal")) if dates and data.get("deal") else None)
    if date:
        rows.append(["Date", date])
    arrangements = [_name(graph, a) for a in data.get("arrangements") or ()]
    on_loops = loops.get((u, v, data.get("_key")), [])
    if arrangements:
        rows.append(["Circular deal", "; ".join(arrangements) + " (as the article describes it)"])
    if on_loops:
        # The shortest loops, then by name (not by set order, which changes from run to run).
        shown = sorted(set(on_loops), key=lambda loop: (len(loop), loop))[:3]
        rows.append(["Money loop", "; ".join(shown) + (f" (+{len(set(on_loops)) - 3} more)" if len(set(on_loops)) > 3 else "")])
    quotes = []
    seen = set()
    for line, quote in [(data.get("source_line"), data.get("quote"))] + [tuple(s[:2]) for s in data.get("sources") or ()]:
        if quote and (line, quote) not in seen:
            seen.add((line, quote))
            quotes.append({"line": line, "quote": str(quote)})
    return {"title": data.get("deal_label") or EDGE_KINDS[kind][0], "title_zh": data.get("deal_label_zh") or "",
            "rows": rows, "quotes": quotes[:4], "more": max(0, len(quotes) - 4), "iri": str(data.get("deal") or "")}


def _node_tip(G, key, position, side_text, loop_partners) -> dict:
    node = G.nodes[key]
    primary, kinds = _node_kind(node.get("kinds") or ())
    rows = [["Kind", ", ".join(NODE_KINDS[k][0] for k in kinds)]]
    if position is not None and (position["out"]["all"]["deals"] or position["in"]["all"]["deals"]):
        rows.append(["Pays / gives", side_text(position["out"]["all"])])
        rows.append(["Receives", side_text(position["in"]["all"])])
    money = [(u, v, d) for u, v, d in list(G.out_edges(key, data=True)) + list(G.in_edges(key, data=True))
             if d.get("kind") not in _RELATIONS]
    for u, v, d in sorted(money, key=lambda e: (-_size(e[2]), e[0], e[1]))[:5]:
        other, arrow = (G.nodes[v]["label"], "→") if u == key else (G.nodes[u]["label"], "←")
        rows.append([f"{arrow} {other}", (d.get("amount_text") or "amount not stated") + " · "
                     + EDGE_KINDS.get(d.get("kind"), EDGE_KINDS["other"])[0].lower()])
    if len(money) > 5:
        rows.append(["", f"+{len(money) - 5} more flows"])
    for u, v, d in G.out_edges(key, data=True):
        if d.get("kind") == "role":
            rows.append(["Role", f"{d.get('terms_text') or 'member'} at {G.nodes[v]['label']}"
                         + (" (former)" if d.get("former") else "")])
    if loop_partners:
        rows.append(["Circular deals with", ", ".join(sorted(loop_partners))])
    aliases = [a for a in node.get("aliases") or () if a not in (node.get("label"), node.get("label_zh"))]
    if aliases:
        rows.append(["Also called", ", ".join(aliases)])
    zh = node.get("label_zh") or ""
    return {"title": node["label"], "title_zh": zh if zh != node["label"] else "", "rows": rows,
            "quotes": [], "more": 0, "iri": str(node.get("iri") or key)}


def _page(graph, G, kgflows, loops, focus_key, title, note, left_out, dates=None) -> str:
    from kg.bulk import prefetch_rows

    positions = kgflows.net_positions(G)
    net = _Network()
    order = sorted(G.nodes)
    for key in order:
        node = G.nodes[key]
        primary, _kinds = _node_kind(node.get("kinds") or ())
        partners = {G.nodes[v]["label"] for u, v, k in G.out_edges(key, keys=True) if (u, v, k) in loops}
        partners |= {G.nodes[u]["label"] for u, v, k in G.in_edges(key, keys=True) if (u, v, k) in loops}
        pos = positions.get(key)
        money = pos["in"]["all"]["upper"] + pos["out"]["all"]["upper"] if pos else 0.0
        colour = NODE_KINDS[primary][1]
        ring = "#b91c1c" if partners else "#334155"
        net.add_node(key, label=node["label"], shape="dot", size=_node_size(money),
                     color={"background": colour, "border": ring,
                            "highlight": {"background": colour, "border": "#111827"},
                            "hover": {"background": colour, "border": "#111827"}},
                     borderWidth=4 if partners else 1, borderWidthSelected=5,
                     label_en=node["label"], label_zh=node.get("label_zh") or "",
                     aliases=list(node.get("aliases") or ()), kind=primary, loop=bool(partners),
                     tip=_node_tip(G, key, pos, kgflows.side_text, partners))

    edges = sorted(G.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2]))
    # The tips read each deal's dates and some names from the graph: a remote store reads them in batches
    prefetch_rows(graph, [d["deal"] for *_e, d in edges if d.get("deal")]
                  + [x for *_e, d in edges for x in [*(d.get("shared_with") or ()), *(d.get("arrangements") or ())]])
    parallel: dict = {}
    for number, (u, v, k, data) in enumerate(edges):
        kind = data.get("kind") if data.get("kind") in EDGE_KINDS else "other"
        # Edges between the same two parties bend to alternate sides, further out the more there are.
        pair = (min(u, v), max(u, v))
        parallel[pair] = index = parallel.get(pair, -1) + 1
        side = index % 2 == (0 if u <= v else 1)
        smooth = {"enabled": True, "type": "curvedCW" if side else "curvedCCW",
                  "roundness": round(0.2 + 0.25 * (index // 2), 2)}
        colour = EDGE_KINDS[kind][1]
        on_loop = (u, v, k) in loops
        label = data.get("amount_text") or ""
        if label == "amount not stated" or kind in _RELATIONS:
            label = ""
        tip = _edge_tip(graph, G, u, v, {**data, "_key": k}, loops, dates)
        net.add_edge(u, v, id=f"e{number}", label=label, kind=kind, loop=on_loop,
                     arrows="to" if data.get("directed", True) else "",
                     width=_edge_width(_size(data)), dashes=[8, 6] if _dashed(data) else False,
                     color={"color": colour, "highlight": colour, "hover": colour, "inherit": False},
                     shadow={"enabled": True, "color": "rgba(220,38,38,0.8)", "size": 12, "x": 0, "y": 0}
                     if on_loop else {"enabled": False},
                     smooth=smooth,
                     deal=str(data.get("deal") or k), tip=tip)

    net.options = {
        "layout": {"randomSeed": _SEED, "improvedLayout": len(order) <= 100},
        "physics": {"enabled": True, "solver": "forceAtlas2Based",
                    "forceAtlas2Based": {"gravitationalConstant": -160, "centralGravity": 0.012,
                                         "springLength": 190, "springConstant": 0.04, "avoidOverlap": 0.8},
                    "stabilization": {"enabled": True, "iterations": _STABILIZATION_ITERATIONS if len(order) <= 150
                                      else _STABILIZATION_ITERATIONS_LARGE,
                                      "updateInterval": 25, "fit": True},
                    "minVelocity": 1.0, "maxVelocity": 60},
        "interaction": {"hover": True, "tooltipDelay": 100, "hideEdgesOnDrag": len(order) > 200,
                        "multiselect": False},
        "nodes": {"font": {"size": 15, "face": "system-ui, sans-serif", "strokeWidth": 4,
                           "strokeColor": "#ffffff"}},
        "edges": {"font": {"size": 12, "face": "system-ui, sans-serif", "strokeWidth": 4,
                           "strokeColor": "#ffffff", "color": "#1f2937", "align": "horizontal"},
                  "arrows": {"to": {"enabled": True, "scaleFactor": 0.7}}, "selectionWidth": 2,
                  "hoverWidth": 1.5},
    }
    vis_nodes, vis_edges, options = net.nodes, net.edges, json.dumps(net.options)

    kinds_present = sorted({e["kind"] for e in vis_edges}, key=list(EDGE_KINDS).index)
    node_kinds_present = sorted({n["kind"] for n in vis_nodes}, key=list(NODE_KINDS).index)
    assumptions = G.graph.get("assumptions") or {}
    heading = title or "The deal web: who pays whom in AI"
    data = {
        "nodes": vis_nodes, "edges": vis_edges, "options": json.loads(options),
        "edgeKinds": [{"id": k, "name": EDGE_KINDS[k][0], "color": EDGE_KINDS[k][1],
                       "count": sum(1 for e in vis_edges if e["kind"] == k)} for k in kinds_present],
        "nodeKinds": [{"id": k, "name": NODE_KINDS[k][0], "color": NODE_KINDS[k][1]} for k in node_kinds_present],
        "meta": {"title": heading, "note": note, "leftOut": left_out[:LISTED_LEFT_OUT], "leftOutCount": len(left_out),
                 "assumed": ", ".join(f"{name} {state}" for name, state in sorted(assumptions.items())),
                 "focus": focus_key or "", "loopEdges": len(loops)},
    }
    return _TEMPLATE.format(title=_html.escape(heading), css=_asset("vis-network.css"),
                            js=_asset("vis-network.min.js"), data=_json_for_script(data),
                            page_css=_page_asset("viz.css"), page_js=_page_asset("viz.js"))


class _Network:
    """The nodes and edges of the page as pyvis's ``Network(directed=True)`` makes them (``add_node``,
    ``add_edge``, then ``nodes``, ``edges`` and ``options``), without importing pyvis (half a second)."""

    def __init__(self):
        self.nodes: list[dict] = []
        self.edges: list[dict] = []
        self.options: dict = {}
        self._ids: set = set()

    def add_node(self, n_id, label=None, shape="dot", color="#97c2fc", **options):
        if n_id not in self._ids:
            self._ids.add(n_id)
            self.nodes.append({"color": color, **options, "id": n_id, "label": label or n_id, "shape": shape})

    def add_edge(self, source, to, **options):
        if source not in self._ids or to not in self._ids:
            raise ValueError(f"an edge between nodes not drawn: {source!r} -> {to!r}")
        edge = {**options, "from": source, "to": to}
        edge.setdefault("arrows", "to")
        self.edges.append(edge)


def _json_for_script(data) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' can end it or start markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


_ASSETS: dict[str, str] = {}


def _asset(name: str) -> str:
    """A vis-network file from the pyvis package, read once per process."""
    if name not in _ASSETS:
        from importlib.util import find_spec  # where pyvis is, without running it (pyvis imports take 0.5 s)
        path = Path(find_spec("pyvis").submodule_search_locations[0]) / "templates" / "lib" / "vis-9.1.2" / name
        _ASSETS[name] = _inlinable(path.read_text(encoding="utf-8"), path)
    return _ASSETS[name]


def _page_asset(name: str) -> str:
    """The page's own script or style sheet (``kg/assets/viz.js``, ``viz.css``: files a browser, a linter
    or another page can use as they are), read once per process."""
    key = "kg/assets/" + name
    if key not in _ASSETS:
        resource = files("kg") / "assets" / name
        _ASSETS[key] = _inlinable(resource.read_text(encoding="utf-8"), resource)
    return _ASSETS[key]


def _inlinable(text: str, where) -> str:
    """``text`` unchanged, if it can go inside a <script> or <style> element of the page as it is."""
    if "</script" in text.lower() or "</style" in text.lower():  # would end the inline element early
        raise RuntimeError(f"{where} cannot be inlined")
    return text


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>{css}</style>
<style>{page_css}</style>
</head>
<body>
<aside id="panel">
  <h1 id="title"></h1>
  <div id="counts"></div>
  <div id="assumed"></div>
  <div id="note"></div>
  <h2>Find</h2>
  <input type="search" id="search" list="names" placeholder="Name in English or 中文, then Enter" autocomplete="off">
  <datalist id="names"></datalist>
  <div id="search-status"></div>
  <h2>Show</h2>
  <label class="row"><input type="checkbox" id="cycles-only"> Only circular deals</label>
  <label class="row"><input type="checkbox" id="lang-zh"> Chinese labels (中文)</label>
  <div class="row"><select id="company"><option value="">All companies and people</option></select></div>
  <h2>Kinds of flow</h2>
  <div id="edge-kinds"></div>
  <div class="row"><span class="line dashed" style="border-color:#6b7280"></span> up to, conditional or projected</div>
  <div class="row"><span class="line loop" style="border-color:#6b7280"></span> part of a circular deal</div>
  <h2>Organizations and people</h2>
  <div id="node-kinds"></div>
  <div class="row count">Size: money moved (log scale). Red ring: in a circular deal.</div>
  <h2>Details</h2>
  <div id="details" class="count">Hover over or click an arrow or a node.</div>
  <div id="left-out"></div>
  <p class="row"><button id="fit" type="button">Fit to window</button></p>
</aside>
<main id="graph"><div id="network"></div><div id="busy">Laying out…</div></main>
<script type="application/json" id="kg-data">{data}</script>
<script>{js}</script>
<script>{page_js}</script>
</body>
</html>
"""
