"""Reading deals: what the flow graph reads of an RDF graph (in bulk, with :mod:`kg.bulk`), who gives
value to whom in each deal, its kind of flow, its amount under the what-if assumptions and its terms."""

from __future__ import annotations

from typing import Iterator, NamedTuple

from rdflib import Graph
from rdflib.namespace import RDF, RDFS

from kg.bulk import PropertyTable, text
from kg.entities import display_name_in
from kg.figures import FIGURE_PROPERTIES, Figure, figure_reader, local_name, span_fields, span_rows_reader
from kg.flows.common import KG, SCHEMA, _KG_NS, _text
from kg.flows.conditions import _alias_or_local_name
from kg.semantics import Meaning, meaning

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

    def __init__(self, graph: Graph, *, read_all: bool, plans_in_bulk: bool = True):
        # Subject by subject, the amounts of many deals are read to rank loops and paths, and the
        # rest of only the few shown: the amount alone then, rather than each deal's whole row.
        # Without ``plans_in_bulk`` (the plans come from a flow index) only the class hierarchy is.
        self.table = (PropertyTable(graph, _FLOW_PROPERTIES) if read_all else
                      PropertyTable(graph, _PLAN_PROPERTIES if plans_in_bulk else (RDFS.subClassOf,), rows=True,
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

    def forget(self, keep=frozenset()) -> None:
        """Drop what was read subject by subject (the figures too), but the rows of ``keep``: see
        :meth:`kg.bulk.PropertyTable.forget_rows`."""
        self.table.forget_rows(keep)
        self._figures.clear()

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


def _skeletons(facts: _Facts) -> Iterator[_Plan]:
    """Every deal that can be drawn, with its conditions, sides and partners, before any what-if (its
    ``status`` is None): the part of a plan that does not depend on assumptions."""
    table = facts.table
    has_parts = {text(whole) for wholes in table.column(KG.partOfDeal).values() for whole in wholes}
    # Looked up once: this runs for every deal of the graph.
    condition, partner = table.getter(KG.condition), table.getter(KG.partner)
    roles = [(table.getter(give), table.getter(get), grant)
             for give, get, grant in ((KG.payer, KG.payee, False), (KG.grantor, KG.grantee, True))]
    for deal in facts.deals():
        if text(deal) in has_parts:
            continue  # counted through its parts
        sides = []
        for givers_of, takers_of, grant in roles:
            givers, takers = givers_of(deal), takers_of(deal)
            if givers and takers:
                sides.append((grant, _sorted(givers), _sorted(takers)))
        yield _Plan(deal, _sorted(condition(deal)), None, sides, _sorted(partner(deal)))


def _status(conditions: list, states: dict) -> str | None:
    """A deal's condition status under ``states`` (condition -> met?): None (no condition), "failed"
    (one failed), "met" (all met) or "open"."""
    if not conditions:
        return None
    flags = [states.get(c) for c in conditions]
    return "failed" if False in flags else "met" if all(f is True for f in flags) else "open"


def _plans(facts: _Facts, states: dict) -> Iterator[_Plan]:
    table = facts.table
    for plan in _skeletons(facts):
        status = _status(plan.conditions, states)
        if status == "failed" and facts.figure(table.value(plan.deal, KG.amountIfConditionFails)) is None:
            continue  # the deal does not happen
        yield plan._replace(status=status)


def _sorted(values) -> list:
    """Table values sorted as ``sorted(terms, key=str)`` sorts the terms they stand for."""
    if not values:
        return []
    return sorted(values, key=text) if len(values) > 1 else list(values)


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


def _meaning(facts: _Facts, plan: _Plan) -> Meaning:
    """What the deal's amount means under the plan's condition status (:func:`kg.semantics.meaning`):
    the same bounds and status every command gives. A figure for several payers is never split: every
    edge of the deal carries the whole amount, marked shared."""
    table, deal = facts.table, plan.deal
    modality = table.value(deal, KG.modality)
    return meaning(facts.figure(table.value(deal, KG.amount)), facts.figure(table.value(deal, KG.amountIfConditionFails)),
                   conditions=[facts.condition_name(c) for c in plan.conditions], condition_status=plan.status,
                   modality=local_name(text(modality)) if modality is not None else None)
