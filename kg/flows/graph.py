"""The flow graph: :func:`flow_graph` reads every deal into a MultiDiGraph; :class:`FlowReader` answers
``cycles`` and ``trace`` reading only the deals they need; :func:`resolve_node` finds an entity's node."""

from __future__ import annotations

from itertools import islice

import networkx as nx
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.bulk import plain, text
from kg.entities import display_name, resolve_entity
from kg.errors import NoResultsError, UnknownEntityError
from kg.figures import local_name
from kg.flows.circular import _cycle_order, _cycle_record, _gross, _rotate, _short_cycles, cycles  # noqa: F401 (cycles: doctest)
from kg.flows.common import FLOW_KINDS, KG, ORG, SCAN_LIMIT, SCHEMA, _check_bound, _kinds, _sources, _text
from kg.flows.conditions import _condition_name, _resolve_assumptions
from kg.flows.deals import _CLASS_KINDS, _ORG_CLASSES, _Facts, _Plan, _deal_kind, _meaning, _plans, _terms
from kg.flows.paths import _capacity, _hop, _hop_bounds, _node_paths, _path_order, _path_record


def _add_node(G: nx.MultiDiGraph, facts: _Facts, node) -> str:
    key = text(node)
    if key not in G:
        types = facts.table.objects(node, RDF.type)
        kinds = sorted({local_name(text(c)) for c in types})
        closure = facts.closure(types) | set(kinds)
        node_type = ("person" if "Person" in closure else
                     "organization" if closure & _ORG_CLASSES else "other")
        G.add_node(key, iri=key, label=facts.name(node), label_zh=facts.name(node, "zh", fallback=False),
                   kinds=kinds, node_type=node_type,
                   aliases=sorted(text(a) for a in facts.table.objects(node, KG.alias)))
    return key


class FlowReader:
    """The flows of value in an RDF graph under one set of what-if assumptions, read only as far as a
    question needs.

    :func:`flow_graph` reads every deal in full, in bulk. To find circular deals or paths, who gives
    value to whom is enough; to rank them, the amounts of the deals on them; only the loops or paths
    returned need every detail. :meth:`cycles` and :meth:`trace` answer exactly as :func:`cycles` and
    :func:`trace` do on the whole flow graph, reading only that (on 100,000 synthetic deals, `kg cycles`
    reads every detail of a few hundred deals instead of a hundred thousand). ``read_all`` reads every
    property in bulk up front instead, as :func:`flow_graph` needs.

    ``assume`` is as for :func:`flow_graph`; unknown conditions raise here. The RDF graph is not changed.

    >>> from kg.graph import load_graph
    >>> graph = load_graph()
    >>> [c["nodes_labels"] for c in FlowReader(graph).cycles(max_length=2, limit=1)]
    [['Nvidia', 'OpenAI', 'Nvidia']]
    >>> FlowReader(graph).cycles() == cycles(flow_graph(graph))
    True
    """

    def __init__(self, rdf_graph: Graph, assume=None, *, read_all: bool = False):
        self.rdf_graph = rdf_graph
        states = _resolve_assumptions(rdf_graph, assume)
        self.assumptions = {_condition_name(rdf_graph, c): ("met" if ok else "failed")
                            for c, ok in sorted(states.items(), key=lambda kv: str(kv[0]))}
        self._states = {plain(c): ok for c, ok in states.items()}  # keyed as the table names conditions
        self._facts = _Facts(rdf_graph, read_all=read_all)
        self._plans: list[_Plan] | None = None
        self._digraphs: dict = {}
        self._parties: dict = {}  # node key -> the party's plain value in the table
        self._labels: dict = {}

    def _plan_list(self) -> list[_Plan]:
        if self._plans is None:
            self._plans = list(_plans(self._facts, self._states))
        return self._plans

    def _sides(self, plan: _Plan) -> list[tuple]:
        """(kind, givers, takers) of the plan's money edges (the kind needs the deal's classes)."""
        if not plan.roles:
            return []
        classes = self._facts.deal_classes(plan.deal)
        return [(_deal_kind(classes, grant), givers, takers) for grant, givers, takers in plan.roles]

    def _edges(self, plan: _Plan, pairs, kinds) -> list[tuple]:
        """(kind, giver, taker, givers, takers) of the plan's money edges of ``kinds`` between ``pairs``
        of nodes (any pair when None), with all the givers and takers of the deal (several of either
        share its figure). The deal's classes are read only when needed."""
        if pairs is not None and not any((text(g), text(t)) in pairs
                                         for _grant, givers, takers in plan.roles for g in givers for t in takers):
            return []
        return [(kind, giver, taker, givers, takers)
                for kind, givers, takers in self._sides(plan) if kind in kinds
                for giver in givers for taker in takers if giver != taker  # paying oneself moves no money
                and (pairs is None or (text(giver), text(taker)) in pairs)]

    def digraph(self, kinds=None) -> nx.DiGraph:
        """Who gives value to whom: party -> party for the money edges of ``kinds`` (default all), with
        every party that has a money flow of any kind as a node (as :func:`flow_graph` has them). Not to
        be changed: it is kept for the next call."""
        kinds = _kinds(kinds)
        if kinds not in self._digraphs:
            every_kind = set(kinds) >= set(FLOW_KINDS)  # then the deals' classes are not needed
            if not every_kind:
                self._facts.read_deal_classes()
            parties, edges = self._parties, []
            for plan in self._plan_list():
                for _grant, givers, takers in plan.roles:
                    for party in givers + takers:
                        parties[text(party)] = party
                for kind, givers, takers in (((None, g, t) for _, g, t in plan.roles) if every_kind
                                             else self._sides(plan)):
                    if every_kind or kind in kinds:
                        edges.extend((text(g), text(t)) for g in givers for t in takers if g != t)
            D = self._digraphs[kinds] = nx.DiGraph()
            D.add_nodes_from(parties)  # every party with a money flow: its plain value's text, in order met
            D.add_edges_from(edges)
        return self._digraphs[kinds]

    def node(self, name: str) -> str:
        """The node for an entity name, as :func:`resolve_node` finds it in the flow graph."""
        iri = str(resolve_entity(self.rdf_graph, name))
        if iri not in self.digraph():
            raise NoFlowsError(f"{display_name(self.rdf_graph, URIRef(iri))} has no money flows in the data")
        return iri

    def graph(self, include_relations: bool = False, pairs=None, kinds=None) -> nx.MultiDiGraph:
        """The flow graph (see :func:`flow_graph`); with ``pairs`` (a set of (u, v) node keys) or
        ``kinds`` only the money edges between those pairs or of those kinds, and their nodes."""
        facts, table, kinds = self._facts, self._facts.table, _kinds(kinds)
        G = nx.MultiDiGraph(assumptions=dict(self.assumptions))
        arrangements: dict[str, list[str]] = {}
        has_part = table.column(SCHEMA.hasPart)
        for arr in facts.arrangements():
            for part in has_part.get(arr, ()):
                arrangements.setdefault(text(part), []).append(text(arr))
        exchanged_by: dict = {}  # deal -> the deals that state kg:exchangedFor it
        for deal, others in table.column(KG.exchangedFor).items():
            for other in others:
                exchanged_by.setdefault(other, []).append(deal)
        chosen = [(plan, self._edges(plan, pairs, kinds)) for plan in self._plan_list()]
        chosen = [(plan, edges) for plan, edges in chosen if edges or (include_relations and len(plan.partners) > 1)]
        if pairs is not None:  # a few deals read in full: a remote store reads them in batches
            table.prefetch(plan.deal for plan, _edges in chosen)
            table.prefetch(party for plan, edges in chosen for edge in edges for party in edge[1:3])
        for plan, edges in chosen:
            if True:
                self._add_deal(G, plan, edges, arrangements, exchanged_by, include_relations)
        if include_relations:
            self._add_roles(G)
        return G

    def _add_deal(self, G, plan: _Plan, edges, arrangements, exchanged_by, include_relations) -> None:
        facts, table, deal, conds, status = self._facts, self._facts.table, plan.deal, plan.conditions, plan.status
        key, classes = text(deal), facts.deal_classes(deal)
        deal_sources = facts.sources(deal)
        met = facts.figure(table.value(deal, KG.amount))
        failed = facts.figure(table.value(deal, KG.amountIfConditionFails))
        amount = _meaning(facts, plan)
        # Where the amount is stated (as the stored queries' line): the first span of the amount(s) in play,
        # else of the deal's other terms, else of the deal.
        amount_sources = sorted({s for fig in ((met, failed) if status in ("open", None) else
                                               ((failed,) if status == "failed" else (met,))) if fig
                                 for s in facts.sources(fig.node)})
        term_sources = sorted({s for prop in (KG.quantity, KG.shareOfEquity, KG.pricePerShare, KG.originalAmount,
                                              KG.duration)
                               for node in table.objects(deal, prop) if facts.figure(node)
                               for s in facts.sources(node)})
        primary = (amount_sources or term_sources or deal_sources or [(None, "")])[0]
        modality = table.value(deal, KG.modality)
        common = dict(
            low=amount.low, high=amount.high, approximate=amount.approximate, figure_kind=amount.kind,
            value=amount.value, amount_text=amount.text, status=amount.status, derived_by=amount.derived,
            amount_met_text=(_text(met) if met else "not stated") if conds else None,
            amount_failed_text=(_text(failed) if failed else "nothing") if conds else None,
            terms_text=_terms(facts, deal, classes),
            conditions=[text(c) for c in conds], condition_labels=[facts.name(c) for c in conds],
            condition_names=[facts.condition_name(c) for c in conds],
            condition_status=status, modality=local_name(text(modality)) if modality is not None else None,
            deal=key, deal_label=facts.name(deal), deal_label_zh=facts.name(deal, "zh", fallback=False),
            deal_class=next((n for n, _ in _CLASS_KINDS if n in classes), "Deal"),
            source_line=primary[0], quote=primary[1],
            sources=sorted(set(deal_sources) | set(amount_sources) | set(term_sources)),
            exchanged_for=sorted({text(d) for d in table.objects(deal, KG.exchangedFor)}
                                 | {text(d) for d in exchanged_by.get(deal, ())}),
            arrangements=sorted(arrangements.get(key, [])), directed=True,
        )
        for kind, giver, taker, givers, takers in edges:
            u, v = _add_node(G, facts, giver), _add_node(G, facts, taker)
            # One figure for several givers (or takers) is theirs together: every edge carries all of it.
            others = [p for p in givers if p != giver] + [p for p in takers if p != taker]
            shared_text = amount.text
            if others and amount.stated:
                shared_text = f"{amount.text} jointly with {' and '.join(facts.name(p) for p in others)}"
            G.add_edge(u, v, key=key, kind=kind, shared=bool(others),
                       shared_side=("givers" if len(givers) > 1 else "takers" if len(takers) > 1 else None),
                       shared_with=[text(p) for p in others],
                       **{**common, "amount_text": shared_text})
        if include_relations:
            for a, b in zip(plan.partners, plan.partners[1:]):
                u, v = _add_node(G, facts, a), _add_node(G, facts, b)
                G.add_edge(u, v, key=key, kind="partnership", shared=False, shared_side=None, shared_with=[],
                           **{**common, "low": None, "high": None, "directed": False})

    def _add_roles(self, G) -> None:
        """Person -> organization edges (kind ``role``); there are few, so they are read one by one."""
        graph, facts = self.rdf_graph, self._facts
        for membership in sorted(graph.subjects(ORG.member, None), key=str):
            person, org = graph.value(membership, ORG.member), graph.value(membership, ORG.organization)
            if person is None or org is None:
                continue
            role = graph.value(membership, ORG.role)
            u, v = _add_node(G, facts, plain(person)), _add_node(G, facts, plain(org))
            srcs = _sources(graph, membership)
            G.add_edge(u, v, key=str(membership), kind="role", low=None, high=None, status="unstated",
                       approximate=False, figure_kind=None, value=None, shared_side=None,
                       amount_text="", amount_met_text=None, amount_failed_text=None, derived_by=None,
                       terms_text=display_name(graph, role) if role is not None else "",
                       conditions=[], condition_labels=[], condition_names=[], condition_status=None,
                       modality=None,
                       deal=str(membership), deal_label=display_name(graph, membership),
                       deal_label_zh=display_name(graph, membership, "zh", fallback=False), deal_class="RoleAssignment",
                       source_line=srcs[0][0] if srcs else None, quote=srcs[0][1] if srcs else "",
                       sources=srcs, shared=False, shared_with=[], exchanged_for=[], arrangements=[],
                       directed=True, former=bool(graph.value(membership, KG.former)))

    def label(self, node: str) -> str:
        """The label of a party (a node of :meth:`digraph`), as the flow graph has it."""
        if node not in self._labels:
            self._labels[node] = self._facts.name(self._parties[node])
        return self._labels[node]

    def _bounds(self, pairs, kinds) -> dict[tuple[str, str], list[tuple]]:
        """(u, v) -> the (low, high) of each money edge u -> v of ``kinds`` between ``pairs``, as
        :func:`flow_graph` has them; of the deals only their amounts (and classes) are read."""
        facts, table, bounds = self._facts, self._facts.table, {}
        chosen = [(plan, edges) for plan in self._plan_list() if (edges := self._edges(plan, pairs, kinds))]
        # Only their amounts are read: a remote store reads those figures in batches
        table.prefetch(table.value(plan.deal, prop) for plan, _edges in chosen
                       for prop in (KG.amount, KG.amountIfConditionFails))
        for plan, edges in chosen:
            if edges:
                amount = _meaning(facts, plan)
                for _kind, giver, taker, _givers, _takers in edges:
                    bounds.setdefault((text(giver), text(taker)), []).append((amount.low, amount.high))
        return bounds

    def cycles(self, max_length: int = 4, kinds=None, limit: int = 200) -> list[dict]:
        """What ``cycles(flow_graph(rdf_graph, assume), max_length, kinds, limit)`` gives: the loops are
        found on :meth:`digraph` and ranked on the amounts of their deals, and only the deals of the
        ``limit`` loops returned are read in full."""
        kinds = _kinds(kinds)
        _check_bound("--max-length", max_length)
        found = list(islice(_short_cycles(self.digraph(kinds), max_length), SCAN_LIMIT))
        self._facts.table.prefetch(self._parties[n] for loop in found for n in loop)  # their labels, in batches
        loops = [_rotate(loop, self.label) for loop in found]
        pairs = {pair for loop in loops for pair in zip(loop, loop[1:] + loop[:1])}
        bounds = self._bounds(pairs, kinds)
        ranked = []
        for loop in loops:
            ring = loop + loop[:1]
            hops = [_hop_bounds(bounds[pair]) for pair in zip(ring, ring[1:])]
            ranked.append((_cycle_order(*_gross(hops), [self.label(n) for n in ring]), loop))
        top = [loop for _key, loop in sorted(ranked, key=lambda r: r[0])[:limit]]
        G = self.graph(pairs={pair for loop in top for pair in zip(loop, loop[1:] + loop[:1])}, kinds=kinds)
        return [_cycle_record(G, loop, kinds) for loop in top]

    def trace(self, source: str, target: str | None = None, max_hops: int = 4, kinds=None,
              limit: int = 200) -> list[dict]:
        """What ``trace(flow_graph(rdf_graph, assume), source, target, max_hops, kinds, limit)`` gives:
        the paths are found on :meth:`digraph` and ranked on the amounts of their deals, and only the
        deals of the ``limit`` paths returned are read in full."""
        kinds = _kinds(kinds)
        _check_bound("--max-hops", max_hops)
        D = self.digraph(kinds)
        for node in (source, target):
            if node is not None and node not in D:
                raise UnknownEntityError(node)
        paths = list(islice(_node_paths(D, source, target, max_hops), SCAN_LIMIT))
        self._facts.table.prefetch(self._parties[n] for path in paths for n in path)  # their labels, in batches
        pairs = {pair for path in paths for pair in zip(path, path[1:])}
        bounds = self._bounds(pairs, kinds)
        ranked = []
        for path in paths:
            highs = [_hop_bounds(bounds[pair])[1] for pair in zip(path, path[1:])]
            ranked.append((_path_order(_capacity(highs), [self.label(n) for n in path]), path))
        top = [path for _key, path in sorted(ranked, key=lambda r: r[0])[:limit]]
        G = self.graph(pairs={pair for path in top for pair in zip(path, path[1:])}, kinds=kinds)
        return [_path_record(G, path, [_hop(G, a, b, kinds) for a, b in zip(path, path[1:])]) for path in top]


def flow_graph(rdf_graph: Graph, assume=None, include_relations: bool = False) -> nx.MultiDiGraph:
    """The flows of value in ``rdf_graph`` as a MultiDiGraph (see the module docstring for attributes).

    ``assume`` maps condition names to ``"met"``/``"failed"``; unknown names raise
    :class:`kg.errors.UnknownConditionError`. With ``include_relations`` the graph also has non-money
    edges (kind ``partnership`` for kg:partner deals, ``role`` for person -> organization memberships);
    trace, cycles and totals ignore them. Every deal is read in bulk (:class:`FlowReader` reads less).
    """
    return FlowReader(rdf_graph, assume, read_all=True).graph(include_relations)


def resolve_node(rdf_graph: Graph, G: nx.MultiDiGraph, name: str) -> str:
    """The node of ``G`` for an entity name (labels in any language, aliases, IRIs; any case).

    Names are looked up by :func:`kg.entities.resolve_entity`. An entity that exists but has no flows
    raises :class:`NoFlowsError` (exit code 1), an unknown name :class:`kg.errors.UnknownEntityError`.
    """
    iri = str(resolve_entity(rdf_graph, name))
    if iri not in G:
        raise NoFlowsError(f"{display_name(rdf_graph, URIRef(iri))} has no money flows in the data")
    return iri


class NoFlowsError(NoResultsError):
    """An entity exists but takes part in no money flow (exit code 1: an empty result)."""
