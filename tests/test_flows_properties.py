"""Property-based tests of kg.flows on random deal graphs built as RDF, following the ontology.

Each example is a small world of organizations and deals (investments, purchases, cloud contracts,
option grants, in-kind builds, tranches with their parent, deals with two payers, conditional deals with
or without a fallback amount, amounts of every figure kind or none at all). The properties:
every reported cycle is a real cycle of edges, every reported path exists, low <= high on every amount,
net positions sum to zero, a what-if outcome lies within the open bounds, and the RDF graph is not changed.
"""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import HealthCheck, given, settings, strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.flows import FLOW_KINDS, cycles, flow_graph, iter_cycles, iter_paths, net_positions
from kg.graph import KG, KGD, SCHEMA

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DEAL_CLASSES = {  # class -> (giving role, receiving role)
    "Investment": ("payer", "payee"), "ChipPurchase": ("payer", "payee"), "ComputePurchase": ("payer", "payee"),
    "CloudContract": ("payer", "payee"), "EquityOption": ("grantor", "grantee"),
    "ShareGrant": ("grantor", "grantee"), "DataCenterBuild": ("grantor", "grantee"),
    "ProductIntegration": ("grantor", "grantee"),
}
DECIMAL = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
FIGURE_KINDS = ("Exact", "Approximate", "UpperBound", "LowerBound", "OrderOfMagnitude")

amounts = st.one_of(st.none(), st.tuples(st.sampled_from(FIGURE_KINDS),
                                         st.integers(min_value=1, max_value=500).map(lambda n: n * 1e8)))
deals = st.lists(
    st.fixed_dictionaries({
        "cls": st.sampled_from(sorted(DEAL_CLASSES)),
        "givers": st.lists(st.integers(0, 5), min_size=1, max_size=2, unique=True),
        "taker": st.integers(0, 5),
        "amount": amounts,
        "condition": st.one_of(st.none(), st.integers(0, 1)),
        "fallback": st.one_of(st.none(), st.integers(min_value=0, max_value=100).map(lambda n: n * 1e8)),
        "tranches": st.integers(0, 2),
    }),
    min_size=1, max_size=9,
)


def _figure(graph: Graph, kind: str, value: float) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, KG.MonetaryAmount))
    graph.add((node, SCHEMA.value, Literal(str(value), datatype=DECIMAL)))
    graph.add((node, SCHEMA.currency, Literal("USD")))
    graph.add((node, KG.figureKind, KG[kind]))
    return node


def build(spec) -> Graph:
    """An RDF graph with the ontology's terms for the random deals of ``spec``."""
    graph = Graph()
    orgs = [KGD[f"Org{i}"] for i in range(6)]
    for i, org in enumerate(orgs):
        graph.add((org, RDF.type, KG.AILab if i % 2 else KG.Investor))
        graph.add((org, RDFS.label, Literal(f"Org {i}", lang="en")))
    conds = [KGD["cond-a"], KGD["cond-b"]]
    for cond, name in zip(conds, ("alpha", "beta")):
        graph.add((cond, RDF.type, KG.Condition))
        graph.add((cond, KG.alias, Literal(name)))
    graph.add((conds[0], KG.requires, conds[1]))  # alpha requires beta
    for n, deal_spec in enumerate(spec):
        deal = KGD[f"deal-{n}"]
        give, take = DEAL_CLASSES[deal_spec["cls"]]
        graph.add((deal, RDF.type, KG[deal_spec["cls"]]))
        graph.add((deal, RDFS.label, Literal(f"deal {n}", lang="en")))
        graph.add((deal, KG.source, _span(graph, n)))
        for giver in deal_spec["givers"]:
            graph.add((deal, KG[give], orgs[giver]))
        graph.add((deal, KG[take], orgs[deal_spec["taker"]]))
        if deal_spec["amount"]:
            graph.add((deal, KG.amount, _figure(graph, *deal_spec["amount"])))
        if deal_spec["condition"] is not None:
            graph.add((deal, KG.condition, conds[deal_spec["condition"]]))
            graph.add((deal, KG.modality, KG.Conditional))
            if deal_spec["fallback"] is not None:
                graph.add((deal, KG.amountIfConditionFails, _figure(graph, "Exact", deal_spec["fallback"])))
        for t in range(deal_spec["tranches"]):  # parts: the parent must then not be counted itself
            part = KGD[f"deal-{n}-part-{t}"]
            graph.add((part, RDF.type, KG[deal_spec["cls"]]))
            graph.add((part, KG.partOfDeal, deal))
            for giver in deal_spec["givers"]:
                graph.add((part, KG[give], orgs[giver]))
            graph.add((part, KG[take], orgs[deal_spec["taker"]]))
            graph.add((part, KG.amount, _figure(graph, "Exact", 1e8 * (t + 1))))
    return graph


def _span(graph: Graph, n: int) -> BNode:
    span = BNode()
    graph.add((span, KG.line, Literal(n + 1)))
    graph.add((span, KG.quote, Literal(f"quote {n}")))
    return span


@SETTINGS
@given(deals, st.integers(1, 4))
def test_every_cycle_is_a_real_cycle(spec, max_length):
    G = flow_graph(build(spec))
    seen = set()
    for cycle in iter_cycles(G, max_length=max_length):
        ring = cycle["nodes"]
        assert ring[0] == ring[-1] and len(set(ring[:-1])) == len(ring) - 1 <= max_length
        for hop, (u, v) in zip(cycle["hops"], zip(ring, ring[1:])):
            assert (hop["from"], hop["to"]) == (u, v)
            for edge in hop["edges"]:
                assert G.has_edge(u, v, edge["key"]) and G.edges[u, v, edge["key"]]["kind"] in FLOW_KINDS
        key = frozenset(zip(ring, ring[1:]))
        assert key not in seen  # each cycle reported once
        seen.add(key)
    # and none is missed: networkx finds the same number on the collapsed graph
    D = nx.DiGraph((u, v) for u, v in G.edges())
    assert len(seen) == sum(1 for _ in nx.simple_cycles(D, length_bound=max_length))


@SETTINGS
@given(deals, st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5)), st.integers(1, 4))
def test_every_path_exists(spec, start, end, max_hops):
    G = flow_graph(build(spec))
    source = str(KGD[f"Org{start}"])
    target = str(KGD[f"Org{end}"]) if end is not None else None
    if source not in G or (target is not None and target not in G):
        return
    for path in iter_paths(G, source, target, max_hops=max_hops):
        nodes = path["nodes"]
        assert nodes[0] == source and (target is None or nodes[-1] == target)
        assert len(set(nodes)) == len(nodes) and 1 <= len(nodes) - 1 <= max_hops
        for hop, (u, v) in zip(path["hops"], zip(nodes, nodes[1:])):
            assert hop["edges"] and all(G.has_edge(u, v, e["key"]) for e in hop["edges"])
        highs = [h["high"] for h in path["hops"] if h["high"] is not None]
        assert path["capacity"] == (min(highs) if highs else None)


@SETTINGS
@given(deals, st.sampled_from([None, {"alpha": "met"}, {"beta": "failed"}, {"alpha": "failed"}]))
def test_bounds_are_ordered_and_nets_add_up(spec, assume):
    G = flow_graph(build(spec), assume=assume)
    for _, _, data in G.edges(data=True):
        low, high = data["low"], data["high"]
        if low is None:
            assert high is None  # no amount stated: both unknown
        else:
            assert low >= 0 and (high is None or low <= high)
    # A joint amount is counted once, at the single party on its other end, and listed apart for the
    # parties that share it; every other amount is in one party's in and another's out.
    joint_low = joint_high = 0.0
    for deal, data in {d["deal"]: d for _, _, d in G.edges(data=True)}.items():
        if data["shared_side"] and data["low"] is not None:
            sign = 1 if data["shared_side"] == "givers" else -1
            joint_low += sign * (data["low"] if data["status"] not in ("projected", "planned", "estimated") else 0.0)
            joint_high += sign * (data["high"] if data["high"] is not None else data["low"])
    positions = net_positions(G)
    assert math.isclose(sum(p["net_firm"] for p in positions.values()), joint_low, abs_tol=1e-3)
    assert math.isclose(sum(p["net_upper"] for p in positions.values()), joint_high, abs_tol=1e-3)
    for p in positions.values():
        for side in ("in", "out"):
            assert p[side]["all"]["firm"] <= p[side]["all"]["upper"] + 1e-3


@SETTINGS
@given(deals, st.sampled_from(["met", "failed"]))
def test_what_if_lies_within_the_open_bounds(spec, state):
    rdf = build(spec)
    before = set(rdf)
    open_graph = flow_graph(rdf)
    decided = flow_graph(rdf, assume={"beta": state})  # beta fails -> alpha fails too; met -> only beta
    assert set(rdf) == before  # pure
    for u, v, key, data in decided.edges(keys=True, data=True):
        was = open_graph.edges[u, v, key]
        if data["low"] is not None and was["low"] is not None:  # an open amount may be unknown
            assert data["low"] >= was["low"] - 1e-3
            if was["high"] is not None:
                assert data["high"] is not None and data["high"] <= was["high"] + 1e-3
    # decided edges are a subset: a failed condition without a fallback removes the deal, nothing is added
    assert set(decided.edges(keys=True)) <= set(open_graph.edges(keys=True))
    if state == "failed":
        assert not any(d["condition_status"] == "open" for _, _, d in decided.edges(data=True))


@SETTINGS
@given(deals)
def test_deals_with_parts_are_never_edges(spec):
    G = flow_graph(build(spec))
    keys = {k for _, _, k in G.edges(keys=True)}
    for n, deal_spec in enumerate(spec):
        if deal_spec["tranches"]:
            assert str(KGD[f"deal-{n}"]) not in keys
    assert len(cycles(G, max_length=3, limit=5)) <= 5


def test_a_known_cycle_is_found():
    spec = [{"cls": "Investment", "givers": [0], "taker": 1, "amount": ("UpperBound", 1e9), "condition": None,
             "fallback": None, "tranches": 0},
            {"cls": "EquityOption", "givers": [1], "taker": 0, "amount": None, "condition": None,
             "fallback": None, "tranches": 0}]
    found = cycles(flow_graph(build(spec)))
    assert [c["nodes_labels"] for c in found] == [["Org 0", "Org 1", "Org 0"]]


# --------------------------------------------------------------------------------------------------
# FlowReader and the bulk reading (kg.bulk) give what the whole flow graph gives, on either store
# --------------------------------------------------------------------------------------------------

def _on_oxigraph(rdf: Graph) -> Graph:
    from kg.store import new_oxigraph_graph

    graph = new_oxigraph_graph()
    graph += rdf
    return graph


def _dump(G) -> tuple:
    return (G.graph, list(G.nodes(data=True)), list(G.edges(keys=True, data=True)))


ASSUMPTIONS = st.sampled_from([None, {"alpha": "met"}, {"beta": "failed"}, {"alpha": "failed"}])


@SETTINGS
@given(deals, ASSUMPTIONS)
def test_flow_graph_is_the_same_on_both_stores(spec, assume):
    rdf = build(spec)
    from kg.flows import FlowReader

    for relations in (False, True):
        expected = _dump(flow_graph(rdf, assume=assume, include_relations=relations))
        assert _dump(flow_graph(_on_oxigraph(rdf), assume=assume, include_relations=relations)) == expected
        # read subject by subject rather than in bulk
        assert _dump(FlowReader(_on_oxigraph(rdf), assume).graph(include_relations=relations)) == expected
        assert _dump(FlowReader(rdf, assume).graph(include_relations=relations)) == expected


@SETTINGS
@given(deals, ASSUMPTIONS, st.integers(1, 4), st.integers(1, 5), st.booleans())
def test_reader_cycles_are_those_of_the_flow_graph(spec, assume, max_length, limit, oxigraph):
    from kg.flows import FlowReader

    rdf = _on_oxigraph(build(spec)) if oxigraph else build(spec)
    whole = cycles(flow_graph(rdf, assume=assume), max_length=max_length, limit=limit)
    assert FlowReader(rdf, assume).cycles(max_length=max_length, limit=limit) == whole
    money = ["investment", "purchase"]
    whole = cycles(flow_graph(rdf, assume=assume), max_length=max_length, kinds=money, limit=limit)
    assert FlowReader(rdf, assume).cycles(max_length=max_length, kinds=money, limit=limit) == whole


@SETTINGS
@given(deals, ASSUMPTIONS, st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5)), st.integers(1, 4),
       st.integers(1, 5), st.booleans())
def test_reader_paths_are_those_of_the_flow_graph(spec, assume, start, end, max_hops, limit, oxigraph):
    from kg.flows import FlowReader, trace

    rdf = _on_oxigraph(build(spec)) if oxigraph else build(spec)
    G = flow_graph(rdf, assume=assume)
    source = str(KGD[f"Org{start}"])
    target = str(KGD[f"Org{end}"]) if end is not None else None
    if source not in G or (target is not None and target not in G) or source == target:
        return
    whole = trace(G, source, target, max_hops=max_hops, limit=limit)
    assert FlowReader(rdf, assume).trace(source, target, max_hops=max_hops, limit=limit) == whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30), st.integers(1, 8))
def test_short_cycles_are_networkx_simple_cycles(edges, max_length):
    from kg.flows import _short_cycles

    D = nx.DiGraph([(f"n{u}", f"n{v}") for u, v in edges])
    found = list(_short_cycles(D, max_length))

    def canonical(cycle):  # a cycle as a sequence from its smallest node
        start = cycle.index(min(cycle))
        return tuple(cycle[start:] + cycle[:start])
    assert [canonical(c) for c in found] == [tuple(c) for c in found]  # each starts at its smallest node
    assert len(set(map(tuple, found))) == len(found)  # and is found once
    assert set(map(tuple, found)) == {canonical(c) for c in nx.simple_cycles(D, length_bound=max_length)}


# --------------------------------------------------------------------------------------------------
# The flow index (kg.flow_index) gives what reading the RDF gives
# --------------------------------------------------------------------------------------------------

def _index_of(rdf: Graph, details: bool = False):
    """The flow index of ``rdf``, through JSON as a store keeps it; with ``details``, with the deals'
    and parties' details too, through the sealed lines a store keeps them in."""
    import json
    import tempfile
    from pathlib import Path

    from kg.flow_index import FlowIndex, _SealedRecords, _write_details, compute_index
    from kg.flows import FlowReader
    from kg.store import _signing_key

    index = FlowIndex(json.loads(json.dumps(compute_index(rdf))))
    if details:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "details"
            offsets = _write_details(path, "content", index, FlowReader(rdf, read_all=True))
            index._details = _SealedRecords(path, _signing_key(), "content", offsets)
            for number in range(len(offsets)):  # read now, while the file is there
                assert index._details.get(number) is not None
    return index


@SETTINGS
@given(deals, ASSUMPTIONS, st.integers(1, 4), st.integers(0, 5), st.booleans())
def test_flow_index_gives_the_answers_of_the_rdf(spec, assume, length, party, oxigraph):
    from kg.flows import FlowReader, flow_totals

    rdf = _on_oxigraph(build(spec)) if oxigraph else build(spec)
    index = _index_of(rdf)
    G = flow_graph(rdf, assume=assume)
    indexed = FlowReader(rdf, assume, index=index)
    assert indexed.cycles(max_length=length, limit=3) == cycles(G, max_length=length, limit=3)
    money = ["investment", "equity"]
    assert (FlowReader(rdf, assume, index=index).cycles(max_length=length, kinds=money)
            == cycles(G, max_length=length, kinds=money))
    assert _dump(FlowReader(rdf, assume, index=index).graph()) == _dump(G)
    assert flow_totals(FlowReader(rdf, assume, index=index).totals_graph()) == flow_totals(G)
    source = str(KGD[f"Org{party}"])
    if _trace_and_totals_agree(rdf, assume, index, G, source, length):
        # and without an index, the same thin graph
        assert flow_totals(FlowReader(rdf, assume).totals_graph(source), source) == flow_totals(G, source)


def _trace_and_totals_agree(rdf, assume, index, G, source, length) -> bool:
    """Assert that trace and the totals around ``source`` read with the index are those of ``G``;
    whether ``source`` is in the graph at all (else there is nothing to compare)."""
    from kg.flows import FlowReader, flow_totals, trace

    if source not in G:
        return False
    assert FlowReader(rdf, assume, index=index).trace(source, max_hops=length, limit=4) == \
        trace(G, source, max_hops=length, limit=4)
    focused = FlowReader(rdf, assume, index=index).totals_graph(source)
    assert flow_totals(focused, source) == flow_totals(G, source)
    return True


@SETTINGS
@given(deals, ASSUMPTIONS, st.integers(1, 4), st.integers(0, 5), st.booleans())
def test_flow_index_with_details_gives_the_answers_of_the_rdf(spec, assume, length, party, oxigraph):
    """With the deals' and parties' details kept with the index (flow-details.jsonl), the flow graph
    of the few deals shown is the one read from the RDF, under any what-if."""
    from kg.flows import FlowReader

    rdf = _on_oxigraph(build(spec)) if oxigraph else build(spec)
    index = _index_of(rdf, details=True)
    G = flow_graph(rdf, assume=assume)
    assert _dump(FlowReader(rdf, assume, index=index).graph()) == _dump(G)
    assert (_dump(FlowReader(rdf, assume, index=index).graph(include_relations=True))
            == _dump(flow_graph(rdf, assume=assume, include_relations=True)))
    assert FlowReader(rdf, assume, index=index).cycles(max_length=length, limit=3) == cycles(G, max_length=length, limit=3)
    _trace_and_totals_agree(rdf, assume, index, G, str(KGD[f"Org{party}"]), length)


@SETTINGS
@given(deals, st.booleans())
def test_the_stored_flow_graph_is_the_flow_graph(spec, oxigraph):
    """The whole flow graph kept with a store is flow_graph's, and its CSV edges come in the graph's order."""
    from kg.flow_index import _step_line, edges_in_graph_order, replay
    from kg.flows import FlowReader

    rdf = _on_oxigraph(build(spec)) if oxigraph else build(spec)
    lines = [_step_line(step) for step in FlowReader(rdf, read_all=True).graph_steps()]
    G = flow_graph(rdf)
    assert _dump(replay(lines)) == _dump(G)
    edges, labels = edges_in_graph_order(lines)
    assert list(edges) == list(G.edges(keys=True, data=True))
    assert labels == {node: data["label"] for node, data in G.nodes(data=True)}


@SETTINGS
@given(deals, ASSUMPTIONS, st.booleans(), st.booleans())
def test_the_outline_in_plain_dicts_is_the_outline_graph(spec, assume, indexed, relations):
    """kg viz ranks the whole deal web from an EdgeTable: the nodes and edges a MultiDiGraph holds."""
    from kg.flows import EdgeTable, FlowReader

    rdf = build(spec)
    index = _index_of(rdf) if indexed else None
    G = FlowReader(rdf, assume, index=index).outline(include_relations=relations)
    table = FlowReader(rdf, assume, index=index).outline(include_relations=relations, graph_class=EdgeTable)
    assert table.graph == G.graph
    assert table.nodes == dict(G.nodes(data=True))
    assert table.edges == {(u, v, k): data for u, v, k, data in G.edges(keys=True, data=True)}
