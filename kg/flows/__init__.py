"""Money flows: the deal graph as a directed graph of value, with paths, circular deals and net positions.

:func:`flow_graph` reads any RDF graph that follows the ontology (the bundled facts, ``--data`` files) and
derives a :class:`networkx.MultiDiGraph` whose nodes are organizations and people and whose edges are
flows of value from the party that gives to the party that receives. The RDF graph is never changed.

Public API (stable; ``kg.viz`` and the CLI build on it):

- ``flow_graph(rdf_graph, assume=None, include_relations=False) -> nx.MultiDiGraph``
- ``iter_paths(G, source, target=None, max_hops=4, kinds=None)`` / ``trace(...)`` -> paths
- ``iter_cycles(G, max_length=4, kinds=None)`` / ``cycles(...)`` -> circular deals, largest first
- ``FlowReader(rdf_graph, assume).cycles(...)`` / ``.trace(...)``: the same answers as ``cycles`` and
  ``trace`` on the whole flow graph, reading only the deals they need (for large graphs)
- ``net_positions(G, kinds=None)`` / ``flow_totals(G, entity=None)`` -> money in and out per party
- ``list_conditions(rdf_graph)``, ``resolve_condition(rdf_graph, name)``, ``parse_assumptions([...])``
- ``export_flows(G, fmt)`` (in :mod:`kg.flow_export`): GraphML, GEXF, CSV
- ``resolve_node(rdf_graph, G, name)``: an entity name -> its node in G

Every name above is imported from here (``from kg.flows import flow_graph``); the package has one module
per topic: :mod:`kg.flows.graph` (the flow graph, ``FlowReader``), :mod:`kg.flows.deals` (reading deals
from the RDF graph), :mod:`kg.flows.paths` (hops, paths, ``trace``), :mod:`kg.flows.circular` (circular
deals, ``cycles``), :mod:`kg.flows.positions` (totals and net positions), :mod:`kg.flows.conditions`
(what-if conditions) and :mod:`kg.flows.common` (terms, kinds and helpers they share).

Nodes are keyed by the entity's IRI (a string) and carry:

==================  ==========================================================================
``iri``             the entity's IRI (same as the node key)
``label``           English label (falls back to any label, then the IRI's local name)
``label_zh``        Chinese label ('' when there is none)
``kinds``           local names of its rdf:types, sorted (``["ChipVendor", "Investor"]``)
``node_type``       ``"organization"``, ``"person"`` or ``"other"``
``aliases``         its kg:alias strings
==================  ==========================================================================

Edges go from the party value leaves to the party it reaches. Money: kg:payer -> kg:payee. Equity,
shares, options and in-kind value: kg:grantor -> kg:grantee, i.e. opposite to the cash they pay for
(AMD -> OpenAI for the option, OpenAI -> AMD for the chips). The edge key is the deal's IRI.
Each edge carries:

==================  ==========================================================================
``kind``            one of :data:`FLOW_KINDS`: ``investment`` (cash for equity), ``purchase``
                    (chips or compute bought), ``contract`` (cloud or service contract), ``equity``
                    (shares or options granted), ``in-kind`` (a data center built for someone,
                    a model put into someone's product); with ``include_relations`` also
                    ``partnership`` and ``role`` (:data:`RELATION_KINDS`), which carry no money
``low``, ``high``   bounds in USD of the deal's amount (floats), as :mod:`kg.semantics` defines them
                    for every command, or None: ``high`` None means no upper limit ("> $8B") or no
                    amount stated (then ``low`` is None too). "Up to $100B" is (0, 100e9); "about
                    $300B" is (300e9, 300e9) with ``approximate``; a conditional amount still open
                    spans both outcomes; a figure shared by several payers is the whole figure
``status``          firm, derived, conditional, projected, planned, estimated or unstated
                    (:data:`kg.semantics.STATUSES`)
``approximate``     True when the figure is stated with 约 / "about"
``figure_kind``     the figure's kg:figureKind local name (Exact, Approximate, UpperBound,
                    LowerBound, OrderOfMagnitude) or None when no amount is stated
``value``           the stated figure (float) the bounds come from, or None
``amount_text``     the amount as read: ``"$100B"``, ``"≤ $350B"``, ``"~ $300B"``, ``"> $8B"``,
                    ``"$12.5B–22.5B"`` (open condition), ``"amount not stated"``
``amount_met_text``, ``amount_failed_text``  for conditional deals: the amount either way
``derived_by``      how the amount was computed when the source does not state it (kg:derivedBy),
                    else None (SoftBank's first $7.5B tranche is the $30B less the $22.5B)
``terms_text``      non-money terms, ``"; "``-joined: ``"6 GW"``, ``"option on ≤ 10% of shares at
                    $0.01/share"``, ``"5 years"``, ``"originally $11.9B"`` ('' when none)
``conditions``      condition IRIs (strings) the amount depends on
``condition_labels`` their English labels; ``condition_names`` their names for ``--assume``
``condition_status`` None (no condition), ``"open"``, ``"met"`` or ``"failed"`` (under ``assume``)
``modality``        the deal's kg:modality local name (Reported, Conditional, Projected...) or None
``deal``            the deal's IRI; ``deal_label``, ``deal_label_zh``; ``deal_class`` (local name)
``source_line``     the first line the amount is stated on (else the deal's other terms, else the
                    deal), as the stored queries' ``line``; or None
``quote``           the verbatim quote on that line
``sources``         every (line, quote) of the deal and its figures, sorted
``shared``          True when one amount is stated for several payers (or payees) together: it is
                    never split; totals list it apart for those payers and count it once for the
                    single party at the other end (``shared_side``: "givers", "takers" or None)
``shared_with``     the other parties of a shared amount (IRIs)
``exchanged_for``   IRIs of the deals given in return (kg:exchangedFor)
``arrangements``    IRIs of the kg:CircularArrangement nodes the deal is part of
``directed``        False only for ``partnership`` edges (drawn between partners, no direction)
==================  ==========================================================================

Counting rules: a deal that has parts (some deal is kg:partOfDeal it) is not an edge, so SoftBank's
$30B is counted through its two tranches and OpenAI's funding round through its investments.

What-if: ``assume`` maps condition names (kg:alias such as ``restructuring``, the IRI's local name
``cond-restructuring``, a label, or an IRI) to ``"met"``/``"failed"`` (or True/False). A condition fails
when a condition it kg:requires fails; a met condition implies the conditions it requires are met.

>>> from kg.graph import load_graph
>>> G = flow_graph(load_graph())
>>> e = G.edges["https://w3id.org/aimoney/id/Nvidia", "https://w3id.org/aimoney/id/OpenAI",
...             "https://w3id.org/aimoney/id/deal-nvidia-openai-investment"]
>>> e["kind"], e["low"], e["high"], e["amount_text"]
('investment', 0.0, 100000000000.0, '≤ $100B')
>>> [p["nodes_labels"] for p in trace(G, "https://w3id.org/aimoney/id/SoftBank",
...                                    "https://w3id.org/aimoney/id/Nvidia")]
[['SoftBank Group', 'OpenAI', 'Nvidia']]
"""

from __future__ import annotations

from kg.flows.circular import _short_cycles, cycles, iter_cycles
from kg.flows.common import FLOW_KINDS, RELATION_KINDS, SCAN_LIMIT
from kg.flows.conditions import list_conditions, parse_assumptions, resolve_condition
from kg.flows.graph import EdgeTable, FlowReader, NoFlowsError, flow_graph, resolve_node
from kg.flows.paths import iter_paths, trace
from kg.flows.positions import flow_totals, net_positions, side_text

__all__ = [
    "FLOW_KINDS", "RELATION_KINDS", "SCAN_LIMIT", "EdgeTable", "FlowReader", "NoFlowsError", "cycles", "flow_graph",
    "flow_totals", "iter_cycles", "iter_paths", "list_conditions", "net_positions", "parse_assumptions",
    "resolve_condition", "resolve_node", "side_text", "trace", "_short_cycles",
]
