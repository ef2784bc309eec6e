"""The flow graph as files other tools open: GraphML, GEXF (Gephi) and a CSV edge list.

GraphML and GEXF hold only scalar attributes, so lists (conditions, sources, kinds) are written as JSON
text and missing values (an amount not stated) are left out. Every edge gets a unique ``id`` and a
``weight`` in billions of dollars (its upper bound, else its lower bound; 0 when no amount is stated),
which Gephi uses for edge thickness.

>>> import networkx as nx
>>> G = nx.MultiDiGraph()
>>> G.add_node("a", iri="a", label="A", label_zh="", kinds=["AILab"], node_type="organization", aliases=[])
>>> G.add_node("b", iri="b", label="B", label_zh="", kinds=[], node_type="organization", aliases=[])
>>> _ = G.add_edge("a", "b", key="d", kind="purchase", low=0.0, high=5e9, amount_text="≤ $5B", conditions=[])
>>> print(export_flows(G, "csv").splitlines()[1])
a,A,b,B,purchase,0.0,5000000000.0,,,,,≤ $5B,,,,,,,d,,,,,
"""

from __future__ import annotations

import csv
import io
import json

from kg.errors import UsageError

#: Formats :func:`export_flows` writes.
EXPORT_FORMATS = ("graphml", "gexf", "csv")

#: Columns of the CSV edge list, in order.
CSV_COLUMNS = ("source", "source_label", "target", "target_label", "kind", "low", "high", "approximate",
               "figure_kind", "status", "derived_by", "amount_text", "terms_text", "conditions", "condition_status",
               "modality",
               "shared", "shared_with", "deal", "deal_label", "source_line", "quote", "sources",
               "arrangements")


def _scalar(value):
    """A value GraphML/GEXF can hold: str, int, float, bool; lists and dicts as JSON; None dropped."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, ensure_ascii=False, default=list)


def _flat_copy(G):
    import networkx as nx

    flat = nx.MultiDiGraph()
    for node, data in G.nodes(data=True):
        flat.add_node(node, **{k: s for k, v in data.items() if (s := _scalar(v)) is not None})
    for index, (u, v, key, data) in enumerate(G.edges(keys=True, data=True)):
        attrs = {k: s for k, v in data.items() if (s := _scalar(v)) is not None}
        amount = data.get("high") if data.get("high") is not None else data.get("low")
        attrs["weight"] = float(amount or 0.0) / 1e9
        attrs["deal_key"] = str(key)
        attrs["id"] = f"e{index}"
        flat.add_edge(u, v, key=f"e{index}", **attrs)
    return flat


def iter_csv(edges, label):
    """The CSV edge list of ``edges`` ((u, v, key, attributes) as ``G.edges(keys=True, data=True)``
    gives them; ``label(node)`` names a node), in pieces of some thousand rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for number, (u, v, key, data) in enumerate(edges, 1):
        row = {"source": u, "source_label": label(u), "target": v,
               "target_label": label(v), **data, "deal": data.get("deal", key)}
        row["conditions"] = ";".join(data.get("condition_names") or data.get("conditions") or [])
        row["shared_with"] = ";".join(data.get("shared_with") or [])
        row["sources"] = json.dumps(data.get("sources") or [], ensure_ascii=False) if data.get("sources") else ""
        row["arrangements"] = ";".join(data.get("arrangements") or [])
        writer.writerow(["" if row.get(col) is None else row.get(col) for col in CSV_COLUMNS])
        if not number % 5000:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def export_flows(G, fmt: str) -> str:
    """``G`` (a :func:`kg.flows.flow_graph`) as GraphML, GEXF or CSV text."""
    import networkx as nx

    fmt = fmt.lower()
    if fmt == "csv":
        return "".join(iter_csv(G.edges(keys=True, data=True), lambda node: G.nodes[node].get("label", node)))
    if fmt in ("graphml", "gexf"):  # the write_* functions add the XML declaration Gephi expects
        buffer = io.BytesIO()
        if fmt == "graphml":
            nx.write_graphml(_flat_copy(G), buffer, encoding="utf-8", named_key_ids=True)
        else:
            nx.write_gexf(_flat_copy(G), buffer, encoding="utf-8")
        return buffer.getvalue().decode("utf-8")
    raise UsageError(f"unknown flow export format {fmt!r}; use one of: {', '.join(EXPORT_FORMATS)}")
