"""Counting what the graph holds: entities by kind, deals by kind, figures by kind, facts, sources.

>>> from kg.graph import load_graph
>>> counts = graph_stats(load_graph())
>>> counts["deals"]["funding round"], counts["sources"]["documents"]
(1, 1)
"""

from __future__ import annotations

from collections import Counter

from rdflib import Graph
from rdflib.namespace import RDF

from kg.bulk import PropertyTable, text
from kg.entities import display_name
from kg.graph import KG, subclasses


def _count_by_type(graph: Graph, root, *, most_specific: bool = True) -> dict[str, int]:
    classes = subclasses(graph, root)
    counts: Counter = Counter()
    for cls in classes:
        for _instance in graph.subjects(RDF.type, cls):
            counts[display_name(graph, cls)] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def graph_stats(graph: Graph) -> dict:
    """Counts for `kg stats`. Entities and deals are counted once per stated type (Nvidia is a chip
    vendor and an investor); facts by their most general fact class."""
    # Each span's document and line, read property by property (kg.bulk): one lookup per span took
    # minutes on a remote store.
    spans = PropertyTable(graph, (KG.quote, KG.document, KG.line))
    quoted = list(spans.column(KG.quote))
    agents = {s for cls in subclasses(graph, KG.Organization) | {KG.Person} for s in graph.subjects(RDF.type, cls)}
    return {
        "triples": len(graph),
        "organizations_and_people": len(agents),
        "entities": _count_by_type(graph, KG.Organization) | _count_by_type(graph, KG.Person)
        | _count_by_type(graph, KG.Product) | _count_by_type(graph, KG.ComputeResource),
        "deals": _count_by_type(graph, KG.Deal),
        "figures": dict(sorted(Counter(display_name(graph, kind) for kind in graph.objects(None, KG.figureKind)).items())),
        "facts": {display_name(graph, cls): sum(1 for _ in graph.subjects(RDF.type, cls))
                  for cls in (KG.Claim, KG.Statement, KG.Condition, KG.RoleAssignment, KG.CircularArrangement)},
        "sources": {"spans": len(quoted),
                    "documents": len({spans.value(s, KG.document) for s in quoted}),
                    "lines": len({(spans.value(s, KG.document), int(text(spans.value(s, KG.line)))) for s in quoted})},
    }
