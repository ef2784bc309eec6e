"""The flow graph: :func:`flow_graph` reads every deal into a MultiDiGraph; :class:`FlowReader` answers
``cycles`` and ``trace`` reading only the deals they need; :func:`resolve_node` finds an entity's node."""

from __future__ import annotations

from itertools import chain, islice

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


def _add_node(G: nx.MultiDiGraph, facts: _Facts, node, index=None) -> str:
    key = text(node)
    if key not in G:
        attributes = index.node_details(node) if index is not None else None
        G.add_node(key, **(attributes if attributes is not None else _node_attributes(facts, node)))
    return key


def _node_attributes(facts: _Facts, node) -> dict:
    """The attributes of a party's node in the flow graph (see kg.flows), read from the RDF graph."""
    key = text(node)
    types = facts.table.objects(node, RDF.type)
    kinds = sorted({local_name(text(c)) for c in types})
    closure = facts.closure(types) | set(kinds)
    node_type = ("person" if "Person" in closure else
                 "organization" if closure & _ORG_CLASSES else "other")
    return dict(iri=key, label=facts.name(node), label_zh=facts.name(node, "zh", fallback=False),
                kinds=kinds, node_type=node_type,
                aliases=sorted(text(a) for a in facts.table.objects(node, KG.alias)))


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
    ``index`` (a :class:`kg.flow_index.FlowIndex` of this graph) gives who gives value to whom, the
    deals' kinds and amounts and the parties' labels without reading the RDF graph; only the deals
    and parties shown are then read from it.

    >>> from kg.graph import load_graph
    >>> graph = load_graph()
    >>> [c["nodes_labels"] for c in FlowReader(graph).cycles(max_length=2, limit=1)]
    [['Nvidia', 'OpenAI', 'Nvidia']]
    >>> FlowReader(graph).cycles() == cycles(flow_graph(graph))
    True
    """

    def __init__(self, rdf_graph: Graph, assume=None, *, read_all: bool = False, index=None):
        self.rdf_graph = rdf_graph
        states = _resolve_assumptions(rdf_graph, assume)
        self.assumptions = {_condition_name(rdf_graph, c): ("met" if ok else "failed")
                            for c, ok in sorted(states.items(), key=lambda kv: str(kv[0]))}
        self._states = {plain(c): ok for c, ok in states.items()}  # keyed as the table names conditions
        self._index = None if read_all else index
        self._index_cache = None
        self._seen_cache = None
        self._edge_list: list | None = None
        self._facts = _Facts(rdf_graph, read_all=read_all, plans_in_bulk=self._index is None)
        self._plans: list[_Plan] | None = None
        self._digraphs: dict = {}
        self._parties: dict = {}  # node key -> the party's plain value in the table
        self._labels: dict = {}

    def _plan_list(self) -> list[_Plan]:
        if self._plans is None:
            self._plans = list(self._index.plans(self._states) if self._index is not None
                               else _plans(self._facts, self._states))
        return self._plans

    def _classes(self, deal) -> frozenset[str]:
        """Local names of the deal's classes and their super-classes (those that say its kind)."""
        return self._index.classes(deal) if self._index is not None else self._facts.deal_classes(deal)

    def _sides(self, plan: _Plan) -> list[tuple]:
        """(kind, givers, takers) of the plan's money edges (the kind needs the deal's classes)."""
        if not plan.roles:
            return []
        classes = self._classes(plan.deal)
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
        if kinds not in self._digraphs and self._index is not None:
            D = self._digraphs[kinds] = nx.DiGraph()
            every = self._index_edge_list()
            D.add_nodes_from(chain.from_iterable((u, v) for u, v, *_rest in every))
            wanted = {FLOW_KINDS.index(kind) for kind in kinds}
            D.add_edges_from((u, v) for u, v, _number, _n, kind in every if kind in wanted)
        if kinds not in self._digraphs:
            every_kind = set(kinds) >= set(FLOW_KINDS)  # then the deals' classes are not needed
            if not every_kind and self._index is None:
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

    def _index_edges(self, kinds):
        """(giver, taker, deal number, edges sharing the figure) of the flow index's money edges of
        ``kinds``, of the deals that happen under the assumptions, in the flow graph's order."""
        wanted = {FLOW_KINDS.index(kind) for kind in kinds}
        if len(wanted) == len(FLOW_KINDS):
            return (edge[:4] for edge in self._index_edge_list())
        return (edge[:4] for edge in self._index_edge_list() if edge[4] in wanted)

    def _index_edge_list(self) -> list[tuple]:
        """(giver, taker, deal number, edges sharing the figure, kind's number) of every money edge of
        the flow index, of the deals that happen under the assumptions, in the flow graph's order."""
        if self._edge_list is None:
            keys, dropped = self._index_state()
            money = self._index.money_edges
            # column by column: a hundred thousand edges in a few hundredths of a second
            every = list(zip(map(keys.__getitem__, money[0::5]), map(keys.__getitem__, money[1::5]),
                             money[3::5], money[4::5], money[2::5]))
            self._edge_list = [edge for edge in every if edge[2] not in dropped] if dropped else every
        return self._edge_list

    def _index_state(self) -> tuple[list[str], set[int]]:
        """(the flow index's parties as node keys, the numbers of the deals that do not happen)."""
        if self._index_cache is None:
            self._index_cache = ([text(p) for p in self._index.parties], self._index.dropped(self._states))
        return self._index_cache

    def node(self, name: str) -> str:
        """The node for an entity name, as :func:`resolve_node` finds it in the flow graph."""
        iri = str(resolve_entity(self.rdf_graph, name))
        if iri not in (self._seen() if self._index is not None else self.digraph()):
            raise NoFlowsError(f"{display_name(self.rdf_graph, URIRef(iri))} has no money flows in the data")
        return iri

    def graph(self, include_relations: bool = False, pairs=None, kinds=None, deals=None,
              graph_class=nx.MultiDiGraph) -> nx.MultiDiGraph:
        """The flow graph (see :func:`flow_graph`); with ``pairs`` (a set of (u, v) node keys) or
        ``kinds`` only the money edges between those pairs or of those kinds, and their nodes; with
        ``deals`` (a set of edge keys) only the edges of those deals (and relations)."""
        facts, table, kinds = self._facts, self._facts.table, _kinds(kinds)
        G = graph_class(assumptions=dict(self.assumptions))
        if self._index is not None:
            arrangements, exchanged_by = self._index.arrangements, self._index.exchanged_by
        else:
            arrangements, exchanged_by = _arrangements_and_exchanges(facts)
        chosen = [(plan, self._edges(plan, pairs, kinds)) for plan in self._candidates(pairs, deals)
                  if deals is None or text(plan.deal) in deals]
        chosen = [(plan, edges) for plan, edges in chosen if edges or (include_relations and len(plan.partners) > 1)]
        if pairs is not None or deals is not None:  # a few deals read in full: a remote store reads them in batches
            table.prefetch(plan.deal for plan, _edges in chosen)
            # and what their details name: their conditions, resources and circular arrangements
            table.prefetch(chain((party for plan, edges in chosen for edge in edges for party in edge[1:3]),
                                 (c for plan, _edges in chosen for c in plan.conditions),
                                 (r for plan, _edges in chosen for r in table.objects(plan.deal, KG.resource)),
                                 (a for plan, _edges in chosen for a in arrangements.get(text(plan.deal), ()))))
        for plan, edges in chosen:
            self._add_deal(G, plan, edges, arrangements, exchanged_by, include_relations)
        if include_relations:
            self._add_roles(G, deals)
        return G

    def graph_steps(self) -> list[tuple]:
        """How :meth:`graph` (no relations) is built, step by step: ``("node", key, attributes)`` and
        ``("edge", u, v, key, attributes)`` in the order the graph adds them (replayed with
        ``add_node``/``add_edge``, they make the same graph)."""
        return self.graph(graph_class=_Steps).steps

    def outline(self, include_relations: bool = False, around: str | None = None,
                graph_class=nx.MultiDiGraph) -> nx.MultiDiGraph:
        """The flow graph with what it takes to choose, rank and total its edges, read from the deals'
        amounts alone: nodes with ``label`` and ``label_zh``; edges with ``kind``, ``low``/``high``,
        ``status``, ``approximate``, ``amount_text``, ``deal``, ``shared``, ``shared_side``,
        ``shared_with`` and ``directed`` (as :func:`flow_graph` has them). The same nodes and edges as
        ``graph(include_relations)``, in the same order; the relations' ``role`` edges come in full
        (there are few). With ``around`` (a node; from a flow index, no relations) only the deals with
        a money edge to or from it, their nodes in the order the whole graph has them. ``graph_class``
        (:class:`EdgeTable`) may keep them without networkx."""
        if self._index is None:
            self._facts.read_deal_classes()  # every deal's kind is needed: its classes in one scan
        G = graph_class(assumptions=dict(self.assumptions))

        def add(node, party):
            if node not in G:
                self._parties.setdefault(node, party)
                G.add_node(node, label=self.label(node), label_zh=self._label_zh(node, party))
        numbers = None
        if around is not None:
            if self._index is None or include_relations:
                raise ValueError("outline(around=...) needs a flow index and no relations")
            numbers = self._deals_around(around)
            parties, money, keys, seen = self._index.parties, self._index.money_edges, self._index_state()[0], self._seen()
            ends = {money[j + i] for j in range(0, len(money), 5) if money[j + 3] in numbers for i in (0, 1)}
            for party in sorted(ends, key=lambda p: seen[keys[p]]):  # so sums add up alike
                add(keys[party], parties[party])
        if self._index is not None and numbers is None and not self._states:
            self._outline_from_index(G, add, include_relations)
            deals = ()
        else:
            deals = self._deals_to_draw(include_relations, numbers)
        # in the order flow_graph adds them, so sums add up alike
        for key, amount, edges, partners in deals:
            self._add_outline_edges(G, add, key, amount, edges)
            for a, b in zip(partners, partners[1:]):
                u, v = text(a), text(b)
                add(u, a)
                add(v, b)
                G.add_edge(u, v, key=key, kind="partnership", low=None, high=None, status=amount.status,
                           approximate=amount.approximate, amount_text=amount.text, deal=key, shared=False,
                           shared_side=None, shared_with=[], directed=False)
        if include_relations:
            roles = nx.MultiDiGraph()
            self._add_roles(roles)
            for node, data in roles.nodes(data=True):
                if node not in G:
                    G.add_node(node, label=data["label"], label_zh=data["label_zh"])
            G.add_edges_from(roles.edges(keys=True, data=True))
        return G

    def _outline_from_index(self, G, add, include_relations: bool) -> None:
        """What :meth:`outline` adds for every deal without what-if, from the flow index's columns:
        the same nodes and edges in the same order, without a plan or an amount object per deal."""
        index = self._index
        lows, highs, statuses, approximates, texts = index.default_amounts()
        keys = index.key_texts()
        party_of = dict(zip(self._index_state()[0], index.parties))
        partners = index.partner_lists() if include_relations else {}
        edge_list = self._index_edge_list()
        kinds = FLOW_KINDS
        every = iter(edge_list)
        pending = next(every, None)
        for number in sorted({edge[2] for edge in edge_list} | set(partners)):
            group = []
            while pending is not None and pending[2] == number:
                group.append(pending)
                pending = next(every, None)
            key = keys[number]
            if any(edge[3] > 1 for edge in group):  # a figure shared by several: as outline() adds it
                amount = index.meaning_at(number, index.status_of(number, {}))
                self._add_outline_edges(G, add, key, amount, self._edges(index.plan(number, {}), None, kinds))
                status, approximate, amount_text = amount.status, amount.approximate, amount.text
            else:
                low, high, status = lows[number], highs[number], statuses[number]
                approximate, amount_text = bool(approximates[number]), texts[number]
                for u, v, _number, _n, kind in group:
                    if u not in G:
                        add(u, party_of[u])
                    if v not in G:
                        add(v, party_of[v])
                    G.add_edge(u, v, key=key, kind=kinds[kind], low=low, high=high, status=status,
                               approximate=approximate, amount_text=amount_text, deal=key, shared=False,
                               shared_side=None, shared_with=[], directed=True)
            sides = partners.get(number, ())
            for a, b in zip(sides, sides[1:]):
                u, v = text(a), text(b)
                add(u, a)
                add(v, b)
                G.add_edge(u, v, key=key, kind="partnership", low=None, high=None, status=status,
                           approximate=approximate, amount_text=amount_text, deal=key, shared=False,
                           shared_side=None, shared_with=[], directed=False)

    def _add_outline_edges(self, G, add, key, amount, edges) -> None:
        """Add the money ``edges`` of one deal (as :meth:`_edges` gives them) to ``G`` as :meth:`outline` has them."""
        for kind, giver, taker, givers, takers in edges:
            u, v = text(giver), text(taker)
            add(u, giver)
            add(v, taker)
            # One figure for several givers (or takers) is theirs together: every edge carries all of it.
            others = [p for p in givers if p != giver] + [p for p in takers if p != taker]
            shared_text = amount.text
            if others and amount.stated:
                shared_text = f"{amount.text} jointly with {' and '.join(self._name(p) for p in others)}"
            G.add_edge(u, v, key=key, kind=kind, low=amount.low, high=amount.high, status=amount.status,
                       approximate=amount.approximate, amount_text=shared_text, deal=key, shared=bool(others),
                       shared_side=("givers" if len(givers) > 1 else "takers" if len(takers) > 1 else None),
                       shared_with=[text(p) for p in others], directed=True)

    def _deals_around(self, node: str) -> set[int]:
        """(index) Numbers of the deals that happen with a money edge to or from ``node``."""
        return {number for u, v, number, *_rest in self._index_edge_list() if node in (u, v)}

    def _seen(self) -> dict[str, int]:
        """(index) Every node of the flow graph's money edges -> its place in the graph's nodes."""
        if self._seen_cache is None:
            ends = dict.fromkeys(chain.from_iterable(edge[:2] for edge in self._index_edge_list()))
            self._seen_cache = {node: place for place, node in enumerate(ends)}
        return self._seen_cache

    def _deals_to_draw(self, include_relations: bool, numbers=None):
        """(deal key, what its amount means (kg.semantics), its money edges as :meth:`_edges` gives them,
        its partners to draw) of every deal with something to draw (or of deals ``numbers`` of the
        flow index), in order; from a flow index without making a plan per deal."""
        if self._index is None:
            for plan in self._plan_list():
                edges = self._edges(plan, None, FLOW_KINDS)
                partners = plan.partners if include_relations and len(plan.partners) > 1 else []
                if edges or partners:
                    yield text(plan.deal), _meaning(self._facts, plan), edges, partners
            return
        index, states = self._index, self._states
        parties, money, dropped = index.parties, index.money_edges, self._index_state()[1]
        if numbers is not None:
            for number in sorted(numbers):
                plan = index.plan(number, states)
                yield index.key_of(number), index.meaning_at(number, plan.status), self._edges(plan, None, FLOW_KINDS), []
            return
        j, end = 0, len(money)
        for number in range(len(index)):
            edges, shared = [], False
            while j < end and money[j + 3] == number:
                giver, taker = parties[money[j]], parties[money[j + 1]]
                edges.append((FLOW_KINDS[money[j + 2]], giver, taker, [giver], [taker]))
                shared = shared or money[j + 4] > 1
                j += 5
            if number in dropped:
                continue
            partners = index.partners_of(number) if include_relations else []
            partners = partners if len(partners) > 1 else []
            if not edges and not partners:
                continue
            if shared:  # the other givers and takers are needed: the deal's plan has them
                edges = self._edges(index.plan(number, states), None, FLOW_KINDS)
            yield index.key_of(number), index.meaning_at(number, index.status_of(number, states)), edges, partners

    def totals_graph(self, focus: str | None = None) -> nx.MultiDiGraph:
        """The flow graph as far as :func:`kg.flows.flow_totals` reads it (:meth:`outline`), with every
        detail of the edges of ``focus`` (a node), which it lists.
        ``flow_totals(reader.totals_graph(node), node)`` is ``flow_totals(flow_graph(...), node)``."""
        G = self.outline(around=focus if focus is not None and self._index is not None else None)
        if focus is not None:
            detailed = self.graph(deals={k for u, v, k in G.edges(keys=True) if focus in (u, v)})
            for u, v, k, data in detailed.edges(keys=True, data=True):
                if focus in (u, v):
                    G.edges[u, v, k].update(data)
            for node, data in detailed.nodes(data=True):
                G.nodes[node].update(data)
        return G

    def add_party(self, G: nx.MultiDiGraph, node: str) -> None:
        """Add the party ``node`` (a node of the flow graph) to ``G`` with every attribute it has there."""
        _add_node(G, self._facts, self._parties.get(node, node), self._index)

    def _name(self, party) -> str:
        """A party's label (a node of the flow graph, by its plain value)."""
        node = text(party)
        self._parties.setdefault(node, party)
        return self.label(node)

    def _label_zh(self, node: str, party) -> str:
        if self._index is not None:
            return self._index.label_zh(node)
        return self._facts.name(party, "zh", fallback=False)

    def _candidates(self, pairs, deals) -> list[_Plan]:
        """The plans that may have edges between ``pairs`` or be among ``deals`` (None: any), in order:
        from a flow index only those, else all."""
        if self._index is None or (pairs is None and deals is None):
            return self._plan_list()
        numbers = None
        if pairs is not None:
            numbers = {number for u, v, number, _n in self._index_edges(FLOW_KINDS) if (u, v) in pairs}
        if deals is not None:
            named = self._index.numbers_of(deals)
            numbers = named if numbers is None else numbers & named
        plans = (self._index.plan(number, self._states) for number in sorted(numbers))
        return [plan for plan in plans if plan is not None]

    def _add_deal(self, G, plan: _Plan, edges, arrangements, exchanged_by, include_relations, common=None) -> None:
        facts, index = self._facts, self._index
        if common is None:
            common = self.deal_details(plan, arrangements, exchanged_by)
        amount_text, stated = common["amount_text"], common["low"] is not None
        for kind, giver, taker, givers, takers in edges:
            u, v = _add_node(G, facts, giver, index), _add_node(G, facts, taker, index)
            # One figure for several givers (or takers) is theirs together: every edge carries all of it.
            others = [p for p in givers if p != giver] + [p for p in takers if p != taker]
            shared_text = amount_text
            if others and stated:
                shared_text = f"{amount_text} jointly with {' and '.join(self._party_name(p) for p in others)}"
            G.add_edge(u, v, key=common["deal"], kind=kind, shared=bool(others),
                       shared_side=("givers" if len(givers) > 1 else "takers" if len(takers) > 1 else None),
                       shared_with=[text(p) for p in others],
                       **{**common, "amount_text": shared_text})
        if include_relations:
            for a, b in zip(plan.partners, plan.partners[1:]):
                u, v = _add_node(G, facts, a, index), _add_node(G, facts, b, index)
                G.add_edge(u, v, key=common["deal"], kind="partnership", shared=False, shared_side=None, shared_with=[],
                           **{**common, "low": None, "high": None, "directed": False})

    def _party_name(self, party) -> str:
        if self._index is not None:
            return self._index.label(party)
        return self._facts.name(party)

    def deal_details(self, plan: _Plan, arrangements=None, exchanged_by=None) -> dict:
        """What every edge of the deal of ``plan`` carries whatever its parties (see :func:`flow_graph`),
        under the plan's condition status: kept with the store's flow index (kg.flow_index) for the
        deal's status without what-if, else read from the RDF graph."""
        if self._index is not None:
            stored = self._index.deal_details(plan.deal, plan.status)
            if stored is not None:
                return stored
        if arrangements is None:
            arrangements, exchanged_by = (
                (self._index.arrangements, self._index.exchanged_by) if self._index is not None
                else _arrangements_and_exchanges(self._facts))
        facts, table, deal, conds, status = self._facts, self._facts.table, plan.deal, plan.conditions, plan.status
        key, classes = text(deal), self._classes(deal)
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
        return dict(
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

    def deal_dates(self, deal: str):
        """(years, by-dates, time expressions) of ``deal`` (its key) as texts when the store's flow
        index keeps them, else None (then they are read from the RDF graph)."""
        return self._index.deal_dates(deal) if self._index is not None else None

    def rows_table(self):
        """The :class:`kg.bulk.PropertyTable` this reads deal by deal, or None when it reads in bulk."""
        return self._facts.table if self._facts.table.reads_rows else None

    def forget(self, keep=frozenset()) -> None:
        """Drop what was read deal by deal, but the rows of ``keep`` (:meth:`kg.bulk.PropertyTable.forget_rows`):
        for a pass over every deal in memory that does not grow with them."""
        self._facts.forget(keep)

    def node_attributes(self, party) -> dict:
        """The attributes of the node of ``party`` (a plain value of the table) in the flow graph."""
        return _node_attributes(self._facts, party)

    def _add_roles(self, G, keys=None) -> None:
        """Person -> organization edges (kind ``role``), of the memberships ``keys`` (default all); there
        are few, so they are read one by one."""
        graph, facts = self.rdf_graph, self._facts
        for membership in sorted(graph.subjects(ORG.member, None), key=str):
            if keys is not None and str(membership) not in keys:
                continue
            person, org = graph.value(membership, ORG.member), graph.value(membership, ORG.organization)
            if person is None or org is None:
                continue
            role = graph.value(membership, ORG.role)
            u, v = _add_node(G, facts, plain(person), self._index), _add_node(G, facts, plain(org), self._index)
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
            self._labels[node] = (self._index.label(node) if self._index is not None
                                  else self._facts.name(self._parties[node]))
        return self._labels[node]

    def _bounds(self, pairs, kinds) -> dict[tuple[str, str], list[tuple]]:
        """(u, v) -> the (low, high) of each money edge u -> v of ``kinds`` between ``pairs``, as
        :func:`flow_graph` has them; of the deals only their amounts (and classes) are read."""
        bounds = {}
        if self._index is not None:
            amounts: dict = {}
            for u, v, number, _n in self._index_edges(kinds):
                if (u, v) in pairs:
                    if number not in amounts:
                        amount = self._index.meaning_at(number, self._index.status_of(number, self._states))
                        amounts[number] = (amount.low, amount.high)
                    bounds.setdefault((u, v), []).append(amounts[number])
            return bounds
        table = self._facts.table
        chosen = [(plan, edges) for plan in self._plan_list() if (edges := self._edges(plan, pairs, kinds))]
        # Only their amounts are read: a remote store reads those figures in batches
        table.prefetch(table.value(plan.deal, prop) for plan, _edges in chosen
                       for prop in (KG.amount, KG.amountIfConditionFails))
        for plan, edges in chosen:
            if edges:
                amount = _meaning(self._facts, plan)
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
        if self._index is None:  # their labels (a flow index has them), in batches
            self._facts.table.prefetch(self._parties[n] for loop in found for n in loop)
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
        if self._index is None:  # their labels (a flow index has them), in batches
            self._facts.table.prefetch(self._parties[n] for path in paths for n in path)
        pairs = {pair for path in paths for pair in zip(path, path[1:])}
        bounds = self._bounds(pairs, kinds)
        ranked = []
        for path in paths:
            highs = [_hop_bounds(bounds[pair])[1] for pair in zip(path, path[1:])]
            ranked.append((_path_order(_capacity(highs), [self.label(n) for n in path]), path))
        top = [path for _key, path in sorted(ranked, key=lambda r: r[0])[:limit]]
        G = self.graph(pairs={pair for path in top for pair in zip(path, path[1:])}, kinds=kinds)
        return [_path_record(G, path, [_hop(G, a, b, kinds) for a, b in zip(path, path[1:])]) for path in top]


class EdgeTable:
    """The nodes and edges :meth:`FlowReader.outline` adds, in dicts: ``nodes`` (node -> attributes)
    and ``edges`` ((u, v, key) -> attributes), as a MultiDiGraph would hold them (an edge added again
    under the same key updates it), without networkx's cost per edge: enough to count, rank and
    choose edges from a hundred thousand."""

    def __init__(self, **attributes):
        self.graph = attributes
        self.nodes: dict = {}
        self.edges: dict = {}

    def __contains__(self, node) -> bool:
        return node in self.nodes

    def add_node(self, node, **attributes) -> None:
        self.nodes.setdefault(node, {}).update(attributes)

    def add_edge(self, u, v, key, **attributes) -> None:
        self.nodes.setdefault(u, {})
        self.nodes.setdefault(v, {})
        self.edges.setdefault((u, v, key), {}).update(attributes)

    def add_edges_from(self, edges) -> None:
        for u, v, key, attributes in edges:
            self.add_edge(u, v, key, **attributes)


class _Steps(nx.MultiDiGraph):
    """A flow graph that also keeps the list of the nodes and edges added to it, in order."""

    def __init__(self, **attributes):
        super().__init__(**attributes)
        self.steps: list[tuple] = []

    def add_node(self, node_for_adding, **attr):
        if node_for_adding not in self:
            self.steps.append(("node", node_for_adding, attr))
        super().add_node(node_for_adding, **attr)

    def add_edge(self, u_for_edge, v_for_edge, key=None, **attr):
        self.steps.append(("edge", u_for_edge, v_for_edge, key, attr))
        return super().add_edge(u_for_edge, v_for_edge, key=key, **attr)


def _arrangements_and_exchanges(facts: _Facts) -> tuple[dict, dict]:
    """(deal key -> the kg:CircularArrangement IRIs it is part of, deal -> the deals that state
    kg:exchangedFor it), read in bulk."""
    table = facts.table
    arrangements: dict[str, list[str]] = {}
    has_part = table.column(SCHEMA.hasPart)
    for arr in facts.arrangements():
        for part in has_part.get(arr, ()):
            arrangements.setdefault(text(part), []).append(text(arr))
    exchanged_by: dict = {}
    for deal, others in table.column(KG.exchangedFor).items():
        for other in others:
            exchanged_by.setdefault(other, []).append(deal)
    return arrangements, exchanged_by


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
