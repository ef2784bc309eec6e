"""The flow index of a graph kept in a SPARQL store, read with a few whole-property SELECTs.

A local ``--store`` keeps a flow index (:mod:`kg.flow_index`) that ``kg load`` computed once. A remote
graph has none, so the flow commands (``cycles``, ``trace``, ``flows``, ``viz``) compute one per command
with the same :func:`kg.flow_index.compute_index` the local store uses, over a small local copy of
the triples it reads: every triple of each property in :data:`INDEX_PROPERTIES` (one paged SELECT a
property: the store does the work, and the number of requests does not grow with the data), and the
labels of the parties (one SELECT). :class:`kg.flows.FlowReader` then answers from that index as it
does locally, and reads from the remote graph only the deals and parties it shows, in batches.

The copy is not the graph: it holds only what the index is computed from, so nothing else is asked of
it (the index is all that is kept of it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rdflib.namespace import RDF, RDFS

from kg.figures import SCHEMA
from kg.flows.common import KG
from kg.flows.deals import _PLAN_PROPERTIES

#: The properties :func:`kg.flow_index.compute_index` reads whole: who gives value to whom (and the
#: class hierarchy), the deals' classes, amounts and modality, the amounts' figures (not their sources)
#: and the conditions' aliases.
INDEX_PROPERTIES = (
    *_PLAN_PROPERTIES, RDF.type, KG.amount, KG.amountIfConditionFails, KG.modality, KG.alias,
    SCHEMA.value, KG.figureKind, SCHEMA.currency, SCHEMA.unitCode, KG.rate, KG.derivedBy,
)
#: The roles that make a node a party (its labels are the index's): kg.flows.deals._Facts.deals.
_PARTY_ROLES = (KG.payer, KG.payee, KG.grantor, KG.grantee, KG.partner)
#: Queries sent at once (10k deals, `kg cycles` through Virtuoso: 13.8 s with 3, 15.2-16.8 s one by one).
_AT_ONCE = 3


def index_graph(endpoint):
    """A local Oxigraph-backed rdflib graph with the remote graph's triples that the flow index is
    computed from (see the module docstring); skolem IRIs come back as blank nodes."""
    import pyoxigraph as ox

    from kg.remote import SKOLEM
    from kg.store import new_oxigraph_graph

    graph = new_oxigraph_graph()
    store, default = graph.store._inner, ox.DefaultGraph()
    local: dict = {}  # a skolem IRI -> its blank node

    def term(node):
        if type(node) is ox.NamedNode and node.value.startswith(SKOLEM):
            found = local.get(node)
            if found is None:
                found = local[node] = ox.BlankNode(node.value[len(SKOLEM):])
            return found
        return node
    roles = " ".join(f"<{role}>" for role in _PARTY_ROLES)
    queries = [(str(prop), f"SELECT ?s ?o WHERE {{ ?s <{prop}> ?o }} ORDER BY ?s ?o") for prop in INDEX_PROPERTIES]
    queries.append((str(RDFS.label), f"SELECT DISTINCT ?s ?o WHERE {{ VALUES ?role {{ {roles} }} ?deal ?role ?s . "
                                     f"?s <{RDFS.label}> ?o }} ORDER BY ?s ?o"))
    # A few at a time: the store answers one while the answer before is parsed and stored here.
    with ThreadPoolExecutor(_AT_ONCE) as pool:
        for (prop, _query), rows in zip(queries, pool.map(lambda q: endpoint.term_rows(q[1]), queries)):
            predicate = ox.NamedNode(prop)
            store.extend([ox.Quad(term(s), predicate, term(o), default) for s, o in rows])
    return graph


def remote_flow_index(endpoint):
    """The :class:`kg.flow_index.FlowIndex` of the remote graph, computed as ``kg load`` computes a
    local store's (:func:`kg.flow_index.compute_index`) from :func:`index_graph`."""
    from kg.flow_index import FlowIndex, compute_index

    return FlowIndex(compute_index(index_graph(endpoint)))
