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
``low``, ``high``   bounds in USD of the value this edge moves (floats), or None: ``high`` None
                    means no upper limit ("> $8B") or no amount stated (then ``low`` is None too).
                    "Up to $100B" is (0, 100e9); "about $300B" is (300e9, 300e9) with
                    ``approximate``; a conditional amount still open spans both outcomes
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
``source_line``     the line of the article the amount (else the deal) is stated on, or None
``quote``           the verbatim quote on that line
``sources``         every (line, quote) of the deal and its figures, sorted
``shared``          True when one amount is stated for several payers (or payees) together
``shared_with``     the other parties of a shared amount (IRIs)
``booked_low``, ``booked_high``  the part of the amount counted in totals and net positions: the
                    edge's bounds, except that a shared amount is split equally between its payers
                    (the split is unknown; the payee's total is then exactly the stated figure)
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

from itertools import islice
from typing import Iterable, Iterator, Mapping, NamedTuple

import networkx as nx
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from kg.amounts import format_amount, format_quantity, format_usd
from kg.bulk import PropertyTable, plain, text
from kg.entities import display_name, display_name_in, resolve_entity
from kg.errors import NoResultsError, UnknownConditionError, UnknownEntityError, UsageError
from kg.figures import (FIGURE_PROPERTIES, Figure, figure_reader, local_name, read_figure, read_sources,
                        span_fields, span_rows_reader)
from kg.graph import KG as _KG_NS, ORG as _ORG_NS, SCHEMA as _SCHEMA_NS


class _Terms:
    """A namespace whose terms are made once: rdflib builds a new URIRef on every ``KG.amount``, which
    dominates the time on large graphs."""

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        term = self._namespace[name]
        setattr(self, name, term)
        return term


KG, ORG, SCHEMA = _Terms(_KG_NS), _Terms(_ORG_NS), _Terms(_SCHEMA_NS)

#: Kinds of value flow, in display order.
FLOW_KINDS = ("investment", "purchase", "contract", "equity", "in-kind")
#: Kinds of non-money edges added with ``include_relations=True``.
RELATION_KINDS = ("partnership", "role")

#: Deal classes (local names) and the flow kind they carry; the first match on a deal's class
#: closure wins, so subclasses in data files inherit their parent's kind.
_CLASS_KINDS = (
    ("EquityOption", "equity"), ("ShareGrant", "equity"),
    ("ProductIntegration", "in-kind"), ("DataCenterBuild", "in-kind"),
    ("CloudContract", "contract"),
    ("ChipPurchase", "purchase"), ("ComputePurchase", "purchase"), ("PurchaseAgreement", "purchase"),
    ("InvestmentTranche", "investment"), ("Investment", "investment"), ("FundingRound", "investment"),
    ("Partnership", "contract"),
)
#: Superclasses of the ontology's deal classes, for graphs loaded without the ontology.
_KNOWN_SUPERCLASSES = {
    "InvestmentTranche": "Investment", "ChipPurchase": "PurchaseAgreement",
    "ComputePurchase": "PurchaseAgreement", "CloudContract": "PurchaseAgreement",
}
_DEAL_CLASSES = {name for name, _ in _CLASS_KINDS} | {"Deal"}

_ARRANGEMENT = str(_KG_NS.CircularArrangement)  # as the flow graph's table of the RDF graph names it

_ORG_CLASSES = {"Organization", "AILab", "Investor", "ChipVendor", "CloudProvider", "TechCompany", "LawFirm",
                "NewsOutlet", "ResearchSource", "InformationSource", "NonprofitParent"}


# --------------------------------------------------------------------------------------------------
# Small readers of the RDF graph
# --------------------------------------------------------------------------------------------------

def _sources(graph: Graph, node) -> list[tuple[int, str]]:
    """Every distinct (line, quote) a fact is stated on, sorted: the form of the edges' ``sources``
    (a span with a line but no quote still counts, with quote '')."""
    return sorted({(span.line, span.quote) for span in read_sources(graph, node, keep_unquoted=True)})


def _text(fig: Figure) -> str:
    """A figure as the flow graph writes it. Unlike ``Figure.text``: a unit makes it a quantity and anything
    else is money (in US dollars unless a currency is stated), and the rate is left to the caller, who
    writes " at $0.01/share" itself. From the float value, as the edges' ``value`` is."""
    if fig.unit is not None:
        return format_quantity(float(fig.value), fig.kind, fig.unit)
    return format_amount(float(fig.value), fig.kind, fig.currency or "USD")


def _deal_kind(classes: set[str], grant: bool) -> str:
    for name, kind in _CLASS_KINDS:
        if name in classes:
            if grant and kind not in ("equity", "in-kind"):
                return "in-kind"  # a grant of value by a deal class that normally carries cash
            if not grant and kind in ("equity", "in-kind"):
                return "purchase" if kind == "in-kind" else "investment"
            return kind
    return "in-kind" if grant else "purchase"


def _with_known_superclasses(names: set[str]) -> set[str]:
    """``names`` (local names of classes) with the ontology's super-classes of its deal classes added, for
    graphs loaded without the ontology."""
    for name in list(names):
        while name in _KNOWN_SUPERCLASSES:
            name = _KNOWN_SUPERCLASSES[name]
            names.add(name)
    return names


# --------------------------------------------------------------------------------------------------
# Conditions and what-if assumptions
# --------------------------------------------------------------------------------------------------

def _conditions(graph: Graph) -> list[URIRef]:
    found = set(graph.subjects(RDF.type, KG.Condition)) | set(graph.objects(None, KG.condition))
    found |= set(graph.objects(None, KG.requires)) | set(graph.subjects(KG.requires, None))
    return sorted(found, key=str)


def _condition_name(graph: Graph, cond) -> str:
    return _alias_or_local_name((str(a) for a in graph.objects(cond, KG.alias)), str(cond))


def _alias_or_local_name(aliases: Iterable[str], iri: str) -> str:
    """A condition's name for ``--assume``: its first alias in sorted order, else its IRI's local name."""
    aliases = sorted(aliases)
    return aliases[0] if aliases else local_name(iri)


def resolve_condition(graph: Graph, name: str) -> URIRef:
    """The condition called ``name`` (alias, IRI local name, English/Chinese label or IRI; any case).

    >>> from kg.graph import load_graph
    >>> str(resolve_condition(load_graph(), "Restructuring"))
    'https://w3id.org/aimoney/id/cond-restructuring'
    """
    wanted = name.strip().casefold()
    conds = _conditions(graph)
    for cond in conds:
        names = {str(cond).casefold(), local_name(cond).casefold()}
        names |= {str(a).casefold() for a in graph.objects(cond, KG.alias)}
        names |= {str(lbl).casefold() for lbl in graph.objects(cond, RDFS.label)}
        if wanted in names:
            return cond
    known = ", ".join(_condition_name(graph, c) for c in conds) or "none"
    raise UnknownConditionError(f"no condition named {name!r}; known conditions: {known}")


def parse_assumptions(items: Iterable[str]) -> dict[str, str]:
    """``["restructuring=failed"]`` -> ``{"restructuring": "failed"}``; bad syntax is a UsageError.

    >>> parse_assumptions(["restructuring=FAILED", "microsoft-consent = met"])
    {'restructuring': 'failed', 'microsoft-consent': 'met'}
    """
    result = {}
    for item in items:
        name, sep, state = item.partition("=")
        state = state.strip().lower()
        if not sep or not name.strip() or state not in ("met", "failed"):
            raise UsageError(f"--assume {item!r}: write CONDITION=met or CONDITION=failed")
        result[name.strip()] = state
    return result


def _resolve_assumptions(graph: Graph, assume) -> dict[URIRef, bool]:
    """Condition -> True (met) / False (failed), with kg:requires propagated both ways."""
    if not assume:
        return {}
    items = assume.items() if isinstance(assume, Mapping) else assume
    stated: dict[URIRef, bool] = {}
    for name, state in items:
        cond = name if isinstance(name, URIRef) else resolve_condition(graph, str(name))
        if isinstance(state, str):
            if state.lower() not in ("met", "failed"):
                raise UsageError(f"condition {name!r}: state must be 'met' or 'failed', not {state!r}")
            state = state.lower() == "met"
        stated[cond] = bool(state)
    met, failed = set(), set()
    for cond, ok in stated.items():
        if ok:  # a met condition implies everything it requires is met
            met.update(graph.transitive_objects(cond, KG.requires))
        else:  # a failed condition fails everything that requires it
            failed.update(graph.transitive_subjects(KG.requires, cond))
    clash = met & failed
    if clash:
        names = ", ".join(sorted(_condition_name(graph, c) for c in clash))
        raise UsageError(f"contradictory assumptions: {names} would be both met and failed")
    return {**{c: True for c in met}, **{c: False for c in failed}}


def list_conditions(graph: Graph) -> list[dict]:
    """Every condition in the data: its name for ``--assume``, labels, deadline, what it requires, the
    deals whose amounts depend on it (directly or through a condition that requires it) and their amounts
    either way.

    >>> from kg.graph import load_graph
    >>> [c["name"] for c in list_conditions(load_graph())]
    ['microsoft-consent', 'regulatory-approval', 'restructuring']
    """
    result = []
    for cond in _conditions(graph):
        dependants = set(graph.transitive_subjects(KG.requires, cond))
        deals = []
        for dep in sorted(dependants, key=str):  # set order varies between runs
            for deal in sorted(graph.subjects(KG.condition, dep), key=str):
                met = read_figure(graph, graph.value(deal, KG.amount))
                failed = read_figure(graph, graph.value(deal, KG.amountIfConditionFails))
                deals.append({
                    "deal": str(deal), "deal_label": display_name(graph, deal),
                    "via": None if dep == cond else _condition_name(graph, dep),
                    "amount_met_text": _text(met) if met else "amount not stated",
                    "amount_failed_text": _text(failed) if failed else "nothing (the deal is off)",
                })
        by_date = graph.value(cond, KG.byDate)
        result.append({
            "name": _condition_name(graph, cond), "iri": str(cond),
            "label": display_name(graph, cond), "label_zh": display_name(graph, cond, "zh", fallback=False),
            "by_date": str(by_date) if by_date is not None else None,
            "requires": sorted(_condition_name(graph, c) for c in graph.objects(cond, KG.requires)),
            "deals": deals, "sources": _sources(graph, cond),
        })
    return sorted(result, key=lambda c: c["name"])


# --------------------------------------------------------------------------------------------------
# The flow graph
# --------------------------------------------------------------------------------------------------

#: What is read of every deal to know who gives value to whom (with the deals' rdf:types): enough
#: for a cycle or path search.
_PLAN_PROPERTIES = (
    RDFS.subClassOf, KG.payer, KG.payee, KG.grantor, KG.grantee, KG.partner,
    KG.partOfDeal, KG.condition, KG.exchangedFor, SCHEMA.hasPart,
)
#: Everything :func:`flow_graph` reads, each property with one scan (kg.bulk), not with lookups per
#: deal: some seventy lookups per deal took minutes at 100,000 deals.
_FLOW_PROPERTIES = (
    RDF.type, *_PLAN_PROPERTIES, RDFS.label, KG.alias,
    KG.amount, KG.amountIfConditionFails, KG.quantity, KG.shareOfEquity, KG.pricePerShare, KG.originalAmount,
    KG.duration, KG.resource, KG.modality, *FIGURE_PROPERTIES,
)


class _Facts:
    """What the flow graph reads of an RDF graph, from one :class:`kg.bulk.PropertyTable`: every
    property in bulk (``read_all``), or only :data:`_PLAN_PROPERTIES` in bulk and the rest subject by
    subject. Nodes and values are the table's plain values (an IRI is its string); the rules are those
    of kg.figures and kg.entities, read from the table instead of the graph."""

    def __init__(self, graph: Graph, *, read_all: bool):
        # Subject by subject, the amounts of many deals are read to rank loops and paths, and the
        # rest of only the few shown: the amount alone then, rather than each deal's whole row.
        self.table = (PropertyTable(graph, _FLOW_PROPERTIES) if read_all else
                      PropertyTable(graph, _PLAN_PROPERTIES, rows=True,
                                    single=(KG.amount, KG.amountIfConditionFails, RDF.type)))
        self._super = self.table.column(RDFS.subClassOf)
        self._class_names: dict = {}  # class -> local names of it and its super-classes
        self._closures: dict = {}  # classes -> the local names of them all and their super-classes
        self._figures: dict = {}
        # The flow graph takes its sources from the table (sources()), not from the figures.
        self._read_figure = figure_reader(self.table, with_sources=False)
        self._span_rows = span_rows_reader(self.table)
        # deal -> its classes, when every deal's are needed: every node's classes when all is read;
        # else, read on demand, only the deal classes (the others change nothing about a deal).
        self._deal_types = self.table.column(RDF.type) if read_all else None

    def read_deal_classes(self) -> None:
        """Read the classes of every deal at once (rather than deal by deal, as they are needed)."""
        if self._deal_types is None:
            self._deal_types = self.table.column_where(RDF.type, lambda c: bool(self.class_names(c) & _DEAL_CLASSES))

    def deal_classes(self, deal) -> frozenset[str]:
        """Local names of the deal's classes and their super-classes."""
        types = self._deal_types
        return self.closure(types.get(deal, ()) if types is not None else self.table.objects(deal, RDF.type))

    def arrangements(self) -> list:
        """The kg:CircularArrangement nodes."""
        return list(self.table.column_where(RDF.type, lambda c: c == _ARRANGEMENT))

    def class_names(self, cls) -> set[str]:
        """Local names of ``cls`` and its super-classes (rdfs:subClassOf*, then the ontology's own)."""
        names = self._class_names.get(cls)
        if names is None:
            seen, stack = {cls}, [cls]
            while stack:
                for sup in self._super.get(stack.pop(), ()):
                    if sup not in seen:
                        seen.add(sup)
                        stack.append(sup)
            names = self._class_names[cls] = _with_known_superclasses({local_name(text(c)) for c in seen})
        return names

    def closure(self, classes) -> frozenset[str]:
        """Local names of ``classes`` and all their super-classes."""
        key = tuple(classes)
        names = self._closures.get(key)
        if names is None:  # deals share a few combinations of classes
            names = self._closures[key] = frozenset().union(*map(self.class_names, classes))
        return names

    def name(self, node, lang: str = "en", fallback: bool = True) -> str:
        return display_name_in(self.table, node, lang, fallback=fallback)

    def figure(self, node) -> Figure | None:
        """The figure at ``node``, with its ``sources`` left empty (see :meth:`sources`)."""
        if node is None:
            return None
        if node not in self._figures:  # terms are read twice: for their text and for their sources
            self._figures[node] = self._read_figure(node)
        return self._figures[node]

    def sources(self, node) -> list[tuple[int, str]]:
        """As :func:`_sources`."""
        spans = (span_fields(*row, keep_unquoted=True) for row in self._span_rows(node))
        return sorted({(fields[1], fields[2]) for fields in spans if fields is not None})

    def condition_name(self, cond) -> str:
        return _alias_or_local_name((text(a) for a in self.table.objects(cond, KG.alias)), text(cond))

    def deals(self) -> list:
        """Every node with a party role: the deals that can be drawn. (A node typed as a deal but
        with no parties is a deal too, but it has no edge to draw.)"""
        found = set()
        for prop in (KG.payer, KG.payee, KG.grantor, KG.grantee, KG.partner):
            found.update(self.table.column(prop))
        return sorted(found, key=text)


class _Plan(NamedTuple):
    """A deal that is drawn, and who gives value to whom in it, before its terms (or even its
    classes, which give the kind of its edges) are read."""

    deal: object  # the deal (a plain value of the table)
    conditions: list
    status: str | None
    roles: list  # (grant, givers, takers) of its money edges: grantor -> grantee or payer -> payee
    partners: list


def _plans(facts: _Facts, states: dict) -> Iterator[_Plan]:
    table = facts.table
    has_parts = {text(whole) for wholes in table.column(KG.partOfDeal).values() for whole in wholes}
    # Looked up once: this runs for every deal of the graph.
    condition, partner = table.getter(KG.condition), table.getter(KG.partner)
    roles = [(table.getter(give), table.getter(get), grant)
             for give, get, grant in ((KG.payer, KG.payee, False), (KG.grantor, KG.grantee, True))]
    for deal in facts.deals():
        if text(deal) in has_parts:
            continue  # counted through its parts
        conds = _sorted(condition(deal))
        status = None
        if conds:
            flags = [states.get(c) for c in conds]
            status = ("failed" if False in flags else "met" if all(f is True for f in flags) else "open")
        if status == "failed" and facts.figure(table.value(deal, KG.amountIfConditionFails)) is None:
            continue  # the deal does not happen
        sides = []
        for givers_of, takers_of, grant in roles:
            givers, takers = givers_of(deal), takers_of(deal)
            if givers and takers:
                sides.append((grant, _sorted(givers), _sorted(takers)))
        yield _Plan(deal, conds, status, sides, _sorted(partner(deal)))


def _sorted(values) -> list:
    """Table values sorted as ``sorted(terms, key=str)`` sorts the terms they stand for."""
    if not values:
        return []
    return sorted(values, key=text) if len(values) > 1 else list(values)


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


def _terms(facts: _Facts, deal, classes: set[str]) -> str:
    table = facts.table
    parts = []
    resources = sorted(facts.name(r) for r in table.objects(deal, KG.resource))
    for prop in (KG.quantity, KG.duration):
        for node in table.objects(deal, prop):
            fig = facts.figure(node)
            if fig:
                written = _text(fig)
                if prop == KG.quantity and len(resources) == 1:  # "6 GW of AMD AI chips"
                    written += (" " if fig.unit == "NUM" else " of ") + resources[0]
                parts.append(written)
    share = facts.figure(table.value(deal, KG.shareOfEquity))
    price = facts.figure(table.value(deal, KG.pricePerShare))
    if share or price:
        written = "option on " if "EquityOption" in classes else ""
        written += f"{_text(share)} of shares" if share else "shares"
        if price:
            written += f" at {_text(price)}/share"
        parts.append(written)
    original = facts.figure(table.value(deal, KG.originalAmount))
    if original:
        parts.append(f"originally {_text(original)}")
    return "; ".join(parts)


def _amount(met: Figure | None, failed: Figure | None, status: str | None):
    """(low, high, approximate, figure_kind, value, text) of a deal's amount under a condition status."""
    if status == "failed":
        chosen = failed
    elif status == "open" and met is not None:
        if failed is None:  # the deal happens only if the condition is met: nothing, or the figure
            text = _text(met) if met.kind == "UpperBound" else f"$0 or {_text(met)}"
            return 0.0, met.high, met.kind == "Approximate", met.kind, float(met.value), text
        low = min(met.low, failed.low)
        high = None if met.high is None or failed.high is None else max(met.high, failed.high)
        approx = "Approximate" in (met.kind, failed.kind)
        lo_text = format_usd(low)
        text = f"{lo_text}–{format_usd(high).lstrip('$')}" if high is not None else f"> {lo_text}"
        return low, high, approx, met.kind, float(met.value), ("~ " if approx else "") + text
    else:
        chosen = met
    if chosen is None:
        return None, None, False, None, None, "amount not stated"
    return chosen.low, chosen.high, chosen.kind == "Approximate", chosen.kind, float(chosen.value), _text(chosen)


def _edge_bounds(low, high, n: int) -> tuple:
    """(low, high, booked_low, booked_high) of one of the ``n`` edges of a deal whose amount is
    (``low``, ``high``): with one figure for several parties, each may have paid anything up to all
    of it, and each is booked an equal share."""
    if n > 1:
        return (0.0 if low is not None else None, high,
                low / n if low is not None else None, high / n if high is not None else None)
    return low, high, low, high


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
        """(kind, giver, taker, n, parties) of the plan's money edges of ``kinds`` between ``pairs``
        of nodes (any pair when None); ``n`` is how many edges share the deal's figure and
        ``parties`` all its givers and takers. The deal's classes are read only when needed."""
        if pairs is not None and not any((text(g), text(t)) in pairs
                                         for _grant, givers, takers in plan.roles for g in givers for t in takers):
            return []
        return [(kind, giver, taker, len(givers) * len(takers), givers + takers)
                for kind, givers, takers in self._sides(plan) if kind in kinds
                for giver in givers for taker in takers if pairs is None or (text(giver), text(taker)) in pairs]

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
                        edges.extend((text(g), text(t)) for g in givers for t in takers)
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
        for plan in self._plan_list():
            edges = self._edges(plan, pairs, kinds)
            if edges or (include_relations and len(plan.partners) > 1):
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
        low, high, approx, fkind, value, amount_text = _amount(met, failed, status)
        fig_sources = []
        for fig in (met, failed) if status in ("open", None) else ((failed,) if status == "failed" else (met,)):
            if fig:
                fig_sources.extend(facts.sources(fig.node))
        for prop in (KG.quantity, KG.shareOfEquity, KG.pricePerShare, KG.originalAmount, KG.duration):
            for node in table.objects(deal, prop):  # terms are stated where the deal is
                term = facts.figure(node)
                if term:
                    fig_sources.extend(facts.sources(term.node))
        primary = fig_sources[0] if fig_sources else (deal_sources[0] if deal_sources else (None, ""))
        modality = table.value(deal, KG.modality)
        common = dict(
            approximate=approx, figure_kind=fkind, value=value, amount_text=amount_text,
            derived_by=next((f.derived_by for f in (met, failed) if f and f.derived_by), None),
            amount_met_text=(_text(met) if met else "not stated") if conds else None,
            amount_failed_text=(_text(failed) if failed else "nothing") if conds else None,
            terms_text=_terms(facts, deal, classes),
            conditions=[text(c) for c in conds], condition_labels=[facts.name(c) for c in conds],
            condition_names=[facts.condition_name(c) for c in conds],
            condition_status=status, modality=local_name(text(modality)) if modality is not None else None,
            deal=key, deal_label=facts.name(deal), deal_label_zh=facts.name(deal, "zh", fallback=False),
            deal_class=next((n for n, _ in _CLASS_KINDS if n in classes), "Deal"),
            source_line=primary[0], quote=primary[1],
            sources=sorted(set(deal_sources) | set(fig_sources)),
            exchanged_for=sorted({text(d) for d in table.objects(deal, KG.exchangedFor)}
                                 | {text(d) for d in exchanged_by.get(deal, ())}),
            arrangements=sorted(arrangements.get(key, [])), directed=True,
        )
        for kind, giver, taker, n, parties in edges:
            u, v = _add_node(G, facts, giver), _add_node(G, facts, taker)
            others = [p for p in parties if p not in (giver, taker)]
            e_low, e_high, b_low, b_high = _edge_bounds(low, high, n)
            shared_text = amount_text
            if n > 1:
                shared_text = f"{amount_text} jointly with {' and '.join(facts.name(p) for p in others)}"
            G.add_edge(u, v, key=key, kind=kind, low=e_low, high=e_high,
                       booked_low=b_low, booked_high=b_high, shared=n > 1,
                       shared_with=[text(p) for p in others] if n > 1 else [],
                       **{**common, "amount_text": shared_text})
        if include_relations:
            for a, b in zip(plan.partners, plan.partners[1:]):
                u, v = _add_node(G, facts, a), _add_node(G, facts, b)
                G.add_edge(u, v, key=key, kind="partnership", low=None, high=None,
                           booked_low=None, booked_high=None, shared=False, shared_with=[],
                           **{**common, "directed": False})

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
            G.add_edge(u, v, key=str(membership), kind="role", low=None, high=None, booked_low=None,
                       booked_high=None, approximate=False, figure_kind=None, value=None,
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
        for plan in self._plan_list():
            edges = self._edges(plan, pairs, kinds)
            if edges:
                met = facts.figure(table.value(plan.deal, KG.amount))
                failed = facts.figure(table.value(plan.deal, KG.amountIfConditionFails))
                low, high = _amount(met, failed, plan.status)[:2]
                for _kind, giver, taker, n, _parties in edges:
                    bounds.setdefault((text(giver), text(taker)), []).append(_edge_bounds(low, high, n)[:2])
        return bounds

    def cycles(self, max_length: int = 4, kinds=None, limit: int = 200) -> list[dict]:
        """What ``cycles(flow_graph(rdf_graph, assume), max_length, kinds, limit)`` gives: the loops are
        found on :meth:`digraph` and ranked on the amounts of their deals, and only the deals of the
        ``limit`` loops returned are read in full."""
        kinds = _kinds(kinds)
        _check_bound("--max-length", max_length)
        loops = [_rotate(loop, self.label)
                 for loop in islice(_short_cycles(self.digraph(kinds), max_length), SCAN_LIMIT)]
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


# --------------------------------------------------------------------------------------------------
# Entity names -> nodes
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Hops, paths and cycles
# --------------------------------------------------------------------------------------------------

def _edge_dict(G, u, v, key, data) -> dict:
    return {"from": u, "to": v, "key": key, "from_label": G.nodes[u]["label"],
            "to_label": G.nodes[v]["label"], **data}


def _sum(values):
    values = list(values)
    return sum(values) if values else 0.0


def _hop(G: nx.MultiDiGraph, u: str, v: str, kinds) -> dict | None:
    """All parallel money edges u -> v (of ``kinds``) as one hop with summed bounds."""
    edges = [_edge_dict(G, u, v, k, d) for k, d in G.get_edge_data(u, v, default={}).items()
             if d["kind"] in kinds]
    if not edges:
        return None
    low, high = _hop_bounds([(e["low"], e["high"]) for e in edges])
    stated = [e for e in edges if e["low"] is not None]
    return {
        "from": u, "to": v, "from_label": G.nodes[u]["label"], "to_label": G.nodes[v]["label"],
        "edges": edges, "kinds": sorted({e["kind"] for e in edges}, key=_kind_order),
        "low": low, "high": high,
        "stated": len(stated), "unstated": len(edges) - len(stated),
        "unbounded": sum(1 for e in stated if e["high"] is None),
        "approximate": any(e["approximate"] for e in edges),
        "amount_text": " + ".join(e["amount_text"] for e in edges),
        "terms_text": "; ".join(e["terms_text"] for e in edges if e["terms_text"]),
        "conditions": sorted({c for e in edges for c in e["conditions"]}),
    }


def _hop_bounds(bounds: list[tuple]) -> tuple[float | None, float | None]:
    """(low, high) of parallel edges taken together, from each one's (low, high): the lows summed
    (None when no edge states an amount); the highs summed, or None when an edge has no upper limit
    or no amount."""
    lows = [low for low, _high in bounds if low is not None]
    highs = [high for _low, high in bounds]
    if not lows:
        return None, None
    return _sum(lows), (_sum(highs) if all(h is not None for h in highs) else None)


def _kind_order(kind: str) -> int:
    order = FLOW_KINDS + RELATION_KINDS
    return order.index(kind) if kind in order else len(order)


def _kinds(kinds) -> tuple[str, ...]:
    if not kinds:
        return FLOW_KINDS
    bad = [k for k in kinds if k not in FLOW_KINDS]
    if bad:
        raise UsageError(f"unknown flow kind {bad[0]!r} (--kind); use one of: {', '.join(FLOW_KINDS)}")
    return tuple(kinds)


def _money_digraph(G: nx.MultiDiGraph, kinds) -> nx.DiGraph:
    D = nx.DiGraph()
    D.add_nodes_from(G.nodes)
    D.add_edges_from((u, v) for u, v, d in G.edges(data=True) if d["kind"] in kinds)
    return D


def _path_record(G, nodes: list[str], hops: list[dict], cycle: bool = False) -> dict:
    highs = [h["high"] for h in hops if h["high"] is not None]
    record = {
        "nodes": list(nodes), "nodes_labels": [G.nodes[n]["label"] for n in nodes], "hops": hops,
        "capacity": _capacity(h["high"] for h in hops),
        "capacity_complete": len(highs) == len(hops),
        "conditions": sorted({c for h in hops for c in h["conditions"]}),
        "sources": sorted({tuple(s) for h in hops for e in h["edges"] for s in e["sources"]}),
    }
    return record


def _capacity(highs) -> float | None:
    """The most that can pass along a path: the smallest upper bound of its hops (None if none has one)."""
    highs = [high for high in highs if high is not None]
    return min(highs) if highs else None


def _check_bound(name: str, value: int, top: int = 8) -> None:
    if not isinstance(value, int) or value < 1 or value > top:
        raise UsageError(f"{name} must be between 1 and {top}, not {value}")


def iter_paths(G: nx.MultiDiGraph, source: str, target: str | None = None, max_hops: int = 4,
               kinds=None) -> Iterator[dict]:
    """Simple paths along which value leaves ``source`` (and reaches ``target``), at most ``max_hops``
    hops, as dicts: ``nodes``, ``nodes_labels``, ``hops`` (each with its parallel ``edges``, summed
    ``low``/``high``, ``kinds``, ``amount_text``) and ``capacity`` (the smallest upper bound of the hops).

    Without ``target`` every simple path from ``source`` is yielded (each ends somewhere else).
    A generator: callers bound the output by taking what they need.
    """
    kinds = _kinds(kinds)
    _check_bound("--max-hops", max_hops)
    for node in (source, target):
        if node is not None and node not in G:
            raise UnknownEntityError(node)
    D = _money_digraph(G, kinds)
    for path in _node_paths(D, source, target, max_hops):
        hops = [_hop(G, a, b, kinds) for a, b in zip(path, path[1:])]
        yield _path_record(G, path, hops)


def _node_paths(D: nx.DiGraph, source: str, target: str | None, max_hops: int) -> Iterator[list[str]]:
    """The simple paths of :func:`iter_paths` as lists of nodes, depth first, the successors of a node
    in sorted order (so the same graph always gives the same paths in the same order)."""
    stack = [(source, [source])]
    while stack:
        node, path = stack.pop()
        if len(path) > 1 and (target is None or node == target):
            yield path
        if node == target or len(path) > max_hops:
            continue
        for nxt in sorted(D.successors(node), reverse=True):
            if nxt not in path and len(path) <= max_hops:
                stack.append((nxt, path + [nxt]))


def _path_order(capacity: float | None, nodes_labels: list[str]):
    """How :func:`trace` ranks paths: the widest first, then the shortest, then by name."""
    return (-(capacity if capacity is not None else -1.0), len(nodes_labels), nodes_labels)


#: How many paths or cycles :func:`trace` and :func:`cycles` look at before ranking them, so that output
#: and time stay bounded on large graphs (the ranking is then over the first ones found).
SCAN_LIMIT = 10_000


def trace(G: nx.MultiDiGraph, source: str, target: str | None = None, max_hops: int = 4, kinds=None,
          limit: int = 200) -> list[dict]:
    """:func:`iter_paths`, the widest first (then the shortest), at most ``limit`` of them."""
    paths = []
    for path in iter_paths(G, source, target, max_hops, kinds):
        paths.append(path)
        if len(paths) >= SCAN_LIMIT:
            break
    return sorted(paths, key=lambda p: _path_order(p["capacity"], p["nodes_labels"]))[:limit]


def iter_cycles(G: nx.MultiDiGraph, max_length: int = 4, kinds=None) -> Iterator[dict]:
    """Circular deals: simple cycles of value flows of at most ``max_length`` parties (like
    networkx's ``simple_cycles(G, length_bound=...)``), each as a dict with ``nodes`` (starting at the
    party whose label sorts first), ``hops`` (as in :func:`iter_paths`, the last hop returning to the
    start), ``gross_low``/``gross_high`` (all value moved around the loop), ``net`` (per party: value in
    minus value out within the loop, on firm and on upper amounts), ``capacity`` (the most that can go
    all the way round), ``conditions``, ``sources`` and ``arrangements`` (the article's own
    kg:CircularArrangement nodes covering the loop's deals).
    """
    kinds = _kinds(kinds)
    _check_bound("--max-length", max_length)
    D = _money_digraph(G, kinds)
    for cycle in _short_cycles(D, max_length):
        yield _cycle_record(G, _rotate(cycle, lambda node: G.nodes[node]["label"]), kinds)


def _rotate(cycle: list[str], label) -> list[str]:
    """The cycle starting at the party whose label (``label(node)``) sorts first."""
    start = min(range(len(cycle)), key=lambda i: (label(cycle[i]).casefold(), cycle[i]))
    return cycle[start:] + cycle[:start]


def _cycle_record(G: nx.MultiDiGraph, nodes: list[str], kinds) -> dict:
    """A circular deal of :func:`iter_cycles`, for a cycle ``nodes`` already rotated by :func:`_rotate`."""
    ring = nodes + [nodes[0]]
    hops = [_hop(G, a, b, kinds) for a, b in zip(ring, ring[1:])]
    record = _path_record(G, ring, hops, cycle=True)
    record["gross_low"], record["gross_high"], record["gross_high_known"] = _gross([(h["low"], h["high"])
                                                                                    for h in hops])
    record["amounts_stated"] = all(h["low"] is not None for h in hops)
    record["net"] = _cycle_net(G, nodes, hops)
    deals = {e["deal"] for h in hops for e in h["edges"]}
    record["arrangements"] = sorted({a for h in hops for e in h["edges"] for a in e["arrangements"]})
    record["deals"] = sorted(deals)
    record["terms_text"] = [h["terms_text"] for h in hops]
    return record


def _gross(hops: list[tuple]) -> tuple[float | None, float | None, float | None]:
    """(gross_low, gross_high, gross_high_known) of a loop from its hops' (low, high): all the value
    moved around it, on firm amounts, on upper bounds (None when one is open), and on the upper bounds
    stated. All None when no hop states an amount."""
    if all(low is None for low, _high in hops):
        return None, None, None
    highs = [high for _low, high in hops]
    return (_sum(low for low, _high in hops if low is not None),
            _sum(highs) if all(h is not None for h in highs) else None,
            _sum(h for h in highs if h is not None))


def _cycle_order(gross_low, gross_high, gross_high_known, nodes_labels: list[str]):
    """How :func:`cycles` ranks loops: the most value moved around first, then the shortest, then by name."""
    size = gross_high if gross_high is not None else max(gross_high_known or 0.0, gross_low or 0.0)
    return (-size, len(nodes_labels), nodes_labels)


def _short_cycles(D: nx.DiGraph, max_length: int) -> Iterator[list[str]]:
    """The simple cycles of ``D`` of at most ``max_length`` nodes (as ``networkx.simple_cycles(D,
    length_bound=max_length)`` finds them), each once, starting at its smallest node.

    networkx's bounded search took minutes on 100,000 synthetic deals (10,000 parties); this one takes
    a fraction of a second. For each start node s, in sorted order, it looks for the cycles whose other
    nodes all sort after s: a breadth-first search backwards from s finds how far each such node is
    from s, and the depth-first search forwards only steps to a node that can still get back to s within
    the length. Cycles come in a fixed order: by start node, then depth first through the successors
    in sorted order (the order of the nodes in ``D`` does not matter).

    >>> D = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "c")])
    >>> list(_short_cycles(D, 3)), list(_short_cycles(D, 2))
    ([['a', 'b'], ['a', 'b', 'c'], ['c']], [['a', 'b'], ['c']])
    """
    component_of = {}
    for number, component in enumerate(nx.strongly_connected_components(D)):
        for node in component:
            component_of[node] = number
    # A cycle lies within one strongly connected component; a component of one node holds one only if
    # the node pays itself.
    succ = {n: sorted(w for w in D.successors(n) if component_of[w] == component_of[n]) for n in D}
    pred = {n: [u for u in D.predecessors(n) if component_of[u] == component_of[n]] for n in D}
    for s in sorted(n for n in D if succ[n]):
        back = {s: 0}  # node -> fewest steps from it back to s, through nodes after s
        frontier = [s]
        for steps in range(1, max_length):
            reached = []
            for v in frontier:
                for u in pred[v]:
                    if u > s and u not in back:
                        back[u] = steps
                        reached.append(u)
            frontier = reached
        path, on_path, todo = [s], {s}, [iter(succ[s])]
        while todo:
            for nxt in todo[-1]:
                if nxt == s:
                    yield list(path)
                elif nxt in back and nxt not in on_path and len(path) + back[nxt] <= max_length:
                    path.append(nxt)
                    on_path.add(nxt)
                    todo.append(iter(succ[nxt]))
                    break
            else:
                todo.pop()
                on_path.discard(path.pop())


def _cycle_net(G, nodes, hops) -> list[dict]:
    result = []
    for node in nodes:
        ins = [h for h in hops if h["to"] == node]
        outs = [h for h in hops if h["from"] == node]

        def total(hs, key):
            vals = [h[key] for h in hs]
            return None if any(v is None for v in vals) else _sum(vals)
        firm = (None if total(ins, "low") is None or total(outs, "low") is None
                else total(ins, "low") - total(outs, "low"))
        upper = (None if total(ins, "high") is None or total(outs, "high") is None
                 else total(ins, "high") - total(outs, "high"))
        result.append({"node": node, "label": G.nodes[node]["label"], "net_firm": firm, "net_upper": upper})
    return result


def cycles(G: nx.MultiDiGraph, max_length: int = 4, kinds=None, limit: int = 200) -> list[dict]:
    """:func:`iter_cycles`, largest first (by the most value moved around), at most ``limit`` of them."""
    found = []
    for cycle in iter_cycles(G, max_length, kinds):
        found.append(cycle)
        if len(found) >= SCAN_LIMIT:
            break

    def key(c):
        return _cycle_order(c["gross_low"], c["gross_high"], c["gross_high_known"], c["nodes_labels"])
    return sorted(found, key=key)[:limit]


# --------------------------------------------------------------------------------------------------
# Totals and net positions
# --------------------------------------------------------------------------------------------------

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
