"""Money flows: the deal graph as a directed graph of value, with paths, circular deals and net positions.

:func:`flow_graph` reads any RDF graph that follows the ontology (the bundled facts, ``--data`` files) and
derives a :class:`networkx.MultiDiGraph` whose nodes are organizations and people and whose edges are
flows of value from the party that gives to the party that receives. The RDF graph is never changed.

Public API (stable; ``kg.viz`` and the CLI build on it):

- ``flow_graph(rdf_graph, assume=None, include_relations=False) -> nx.MultiDiGraph``
- ``iter_paths(G, source, target=None, max_hops=4, kinds=None)`` / ``trace(...)`` -> paths
- ``iter_cycles(G, max_length=4, kinds=None)`` / ``cycles(...)`` -> circular deals, largest first
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

from typing import Iterable, Iterator, Mapping

import networkx as nx
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from kg.amounts import format_amount, format_quantity, format_usd
from kg.entities import display_name, resolve_entity
from kg.errors import NoResultsError, UnknownConditionError, UnknownEntityError, UsageError
from kg.figures import Figure, local_name, read_figure, read_sources
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


def _class_closure(graph: Graph, node, cache: dict | None = None) -> set[str]:
    """Local names of the classes of ``node`` and all their super-classes (``cache`` maps class -> names)."""
    cache = {} if cache is None else cache
    names: set[str] = set()
    for cls in graph.objects(node, RDF.type):
        if cls not in cache:
            _class_closure_of_class(graph, cls, cache)
        names |= cache[cls]
    return names


def _deal_kind(classes: set[str], grant: bool) -> str:
    for name, kind in _CLASS_KINDS:
        if name in classes:
            if grant and kind not in ("equity", "in-kind"):
                return "in-kind"  # a grant of value by a deal class that normally carries cash
            if not grant and kind in ("equity", "in-kind"):
                return "purchase" if kind == "in-kind" else "investment"
            return kind
    return "in-kind" if grant else "purchase"


def _deals(graph: Graph, cache: dict) -> list[URIRef]:
    """Every node with a party role, or typed as a deal class (found without needing the ontology)."""
    found = set()
    for prop in (KG.payer, KG.payee, KG.grantor, KG.grantee, KG.partner):
        found.update(graph.subjects(prop, None))
    for cls in set(graph.objects(None, RDF.type)):
        if cls not in cache:
            _class_closure_of_class(graph, cls, cache)
        if cache[cls] & _DEAL_CLASSES:
            found.update(graph.subjects(RDF.type, cls))
    return sorted(found, key=str)


def _class_closure_of_class(graph: Graph, cls, cache: dict) -> None:
    supers = {local_name(sup) for sup in graph.transitive_objects(cls, RDFS.subClassOf)}
    for name in list(supers):
        while name in _KNOWN_SUPERCLASSES:
            name = _KNOWN_SUPERCLASSES[name]
            supers.add(name)
    cache[cls] = supers


# --------------------------------------------------------------------------------------------------
# Conditions and what-if assumptions
# --------------------------------------------------------------------------------------------------

def _conditions(graph: Graph) -> list[URIRef]:
    found = set(graph.subjects(RDF.type, KG.Condition)) | set(graph.objects(None, KG.condition))
    found |= set(graph.objects(None, KG.requires)) | set(graph.subjects(KG.requires, None))
    return sorted(found, key=str)


def _condition_name(graph: Graph, cond) -> str:
    aliases = sorted(str(a) for a in graph.objects(cond, KG.alias))
    return aliases[0] if aliases else local_name(cond)


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

def _add_node(G: nx.MultiDiGraph, graph: Graph, cache: dict, node) -> str:
    key = str(node)
    if key not in G:
        kinds = sorted({local_name(c) for c in graph.objects(node, RDF.type)})
        closure = _class_closure(graph, node, cache) | set(kinds)
        node_type = ("person" if "Person" in closure else
                     "organization" if closure & _ORG_CLASSES else "other")
        G.add_node(key, iri=key, label=display_name(graph, node),
                   label_zh=display_name(graph, node, "zh", fallback=False), kinds=kinds, node_type=node_type,
                   aliases=sorted(str(a) for a in graph.objects(node, KG.alias)))
    return key


def _terms(graph: Graph, deal, classes: set[str]) -> str:
    parts = []
    resources = sorted(display_name(graph, r) for r in graph.objects(deal, KG.resource))
    for prop in (KG.quantity, KG.duration):
        for node in graph.objects(deal, prop):
            fig = read_figure(graph, node)
            if fig:
                text = _text(fig)
                if prop == KG.quantity and len(resources) == 1:  # "6 GW of AMD AI chips"
                    text += (" " if fig.unit == "NUM" else " of ") + resources[0]
                parts.append(text)
    share = read_figure(graph, graph.value(deal, KG.shareOfEquity))
    price = read_figure(graph, graph.value(deal, KG.pricePerShare))
    if share or price:
        text = "option on " if "EquityOption" in classes else ""
        text += f"{_text(share)} of shares" if share else "shares"
        if price:
            text += f" at {_text(price)}/share"
        parts.append(text)
    original = read_figure(graph, graph.value(deal, KG.originalAmount))
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


def flow_graph(rdf_graph: Graph, assume=None, include_relations: bool = False) -> nx.MultiDiGraph:
    """The flows of value in ``rdf_graph`` as a MultiDiGraph (see the module docstring for attributes).

    ``assume`` maps condition names to ``"met"``/``"failed"``; unknown names raise
    :class:`kg.errors.UnknownConditionError`. With ``include_relations`` the graph also has non-money
    edges (kind ``partnership`` for kg:partner deals, ``role`` for person -> organization memberships);
    trace, cycles and totals ignore them.
    """
    graph = rdf_graph
    states = _resolve_assumptions(graph, assume)
    G = nx.MultiDiGraph(assumptions={_condition_name(graph, c): ("met" if ok else "failed")
                                     for c, ok in sorted(states.items(), key=lambda kv: str(kv[0]))})
    has_parts = {str(whole) for whole in graph.objects(None, KG.partOfDeal)}
    arrangements: dict[str, list[str]] = {}
    for arr in graph.subjects(RDF.type, KG.CircularArrangement):
        for part in graph.objects(arr, SCHEMA.hasPart):
            arrangements.setdefault(str(part), []).append(str(arr))

    cache: dict = {}  # class -> names of it and its super-classes
    for deal in _deals(graph, cache):
        if str(deal) in has_parts:
            continue  # counted through its parts
        classes = _class_closure(graph, deal, cache)
        deal_sources = _sources(graph, deal)
        met = read_figure(graph, graph.value(deal, KG.amount))
        failed = read_figure(graph, graph.value(deal, KG.amountIfConditionFails))
        conds = sorted(graph.objects(deal, KG.condition), key=str)
        status = None
        if conds:
            flags = [states.get(c) for c in conds]
            status = ("failed" if False in flags else "met" if all(f is True for f in flags) else "open")
        if status == "failed" and failed is None:
            continue  # the deal does not happen
        low, high, approx, fkind, value, text = _amount(met, failed, status)
        fig_sources = []
        for fig in (met, failed) if status in ("open", None) else ((failed,) if status == "failed" else (met,)):
            if fig:
                fig_sources.extend(_sources(graph, fig.node))
        for prop in (KG.quantity, KG.shareOfEquity, KG.pricePerShare, KG.originalAmount, KG.duration):
            for node in graph.objects(deal, prop):  # terms are stated where the deal is
                term = read_figure(graph, node)
                if term:
                    fig_sources.extend(_sources(graph, term.node))
        primary = fig_sources[0] if fig_sources else (deal_sources[0] if deal_sources else (None, ""))
        modality = graph.value(deal, KG.modality)
        common = dict(
            approximate=approx, figure_kind=fkind, value=value, amount_text=text,
            derived_by=next((f.derived_by for f in (met, failed) if f and f.derived_by), None),
            amount_met_text=(_text(met) if met else "not stated") if conds else None,
            amount_failed_text=(_text(failed) if failed else "nothing") if conds else None,
            terms_text=_terms(graph, deal, classes),
            conditions=[str(c) for c in conds], condition_labels=[display_name(graph, c) for c in conds],
            condition_names=[_condition_name(graph, c) for c in conds],
            condition_status=status, modality=local_name(modality) if modality is not None else None,
            deal=str(deal), deal_label=display_name(graph, deal),
            deal_label_zh=display_name(graph, deal, "zh", fallback=False),
            deal_class=next((n for n, _ in _CLASS_KINDS if n in classes), "Deal"),
            source_line=primary[0], quote=primary[1],
            sources=sorted(set(deal_sources) | set(fig_sources)),
            exchanged_for=sorted({str(d) for d in graph.objects(deal, KG.exchangedFor)}
                                 | {str(d) for d in graph.subjects(KG.exchangedFor, deal)}),
            arrangements=sorted(arrangements.get(str(deal), [])), directed=True,
        )
        for give_prop, get_prop, grant in ((KG.payer, KG.payee, False), (KG.grantor, KG.grantee, True)):
            givers = sorted(graph.objects(deal, give_prop), key=str)
            takers = sorted(graph.objects(deal, get_prop), key=str)
            if not givers or not takers:
                continue
            kind = _deal_kind(classes, grant)
            n = len(givers) * len(takers)
            for giver in givers:
                for taker in takers:
                    u, v = _add_node(G, graph, cache, giver), _add_node(G, graph, cache, taker)
                    others = [str(p) for p in givers + takers if p not in (giver, taker)]
                    if n > 1:  # one figure for several parties: each may have paid anything up to all
                        e_low = 0.0 if low is not None else None
                        e_high = high
                        joint = " and ".join(display_name(graph, p) for p in givers + takers
                                             if p not in (giver, taker))
                        shared_text = f"{text} jointly with {joint}"
                        b_low = low / n if low is not None else None
                        b_high = high / n if high is not None else None
                    else:
                        e_low, e_high, shared_text, b_low, b_high = low, high, text, low, high
                    G.add_edge(u, v, key=str(deal), kind=kind, low=e_low, high=e_high,
                               booked_low=b_low, booked_high=b_high, shared=n > 1,
                               shared_with=others if n > 1 else [],
                               **{**common, "amount_text": shared_text})
        if include_relations:
            partners = sorted(graph.objects(deal, KG.partner), key=str)
            for a, b in zip(partners, partners[1:]):
                u, v = _add_node(G, graph, cache, a), _add_node(G, graph, cache, b)
                G.add_edge(u, v, key=str(deal), kind="partnership", low=None, high=None,
                           booked_low=None, booked_high=None, shared=False, shared_with=[],
                           **{**common, "directed": False})
    if include_relations:
        for membership in sorted(graph.subjects(ORG.member, None), key=str):
            person, org = graph.value(membership, ORG.member), graph.value(membership, ORG.organization)
            if person is None or org is None:
                continue
            role = graph.value(membership, ORG.role)
            u, v = _add_node(G, graph, cache, person), _add_node(G, graph, cache, org)
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
    return G


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
    lows = [e["low"] for e in edges if e["low"] is not None]
    highs = [e["high"] for e in edges]
    known = all(h is not None for h in highs)
    stated = [e for e in edges if e["low"] is not None]
    high = _sum(h for h in highs if h is not None) if stated else None
    return {
        "from": u, "to": v, "from_label": G.nodes[u]["label"], "to_label": G.nodes[v]["label"],
        "edges": edges, "kinds": sorted({e["kind"] for e in edges}, key=_kind_order),
        "low": _sum(lows) if stated else None,
        "high": high if known else None,  # None: no upper limit, or some amount not stated
        "stated": len(stated), "unstated": len(edges) - len(stated),
        "unbounded": sum(1 for e in stated if e["high"] is None),
        "approximate": any(e["approximate"] for e in edges),
        "amount_text": " + ".join(e["amount_text"] for e in edges),
        "terms_text": "; ".join(e["terms_text"] for e in edges if e["terms_text"]),
        "conditions": sorted({c for e in edges for c in e["conditions"]}),
    }


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
        # the most that can pass along the whole path: the smallest upper bound of its hops
        "capacity": min(highs) if highs else None,
        "capacity_complete": len(highs) == len(hops),
        "conditions": sorted({c for h in hops for c in h["conditions"]}),
        "sources": sorted({tuple(s) for h in hops for e in h["edges"] for s in e["sources"]}),
    }
    return record


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
    stack = [(source, [source])]
    while stack:
        node, path = stack.pop()
        if len(path) > 1 and (target is None or node == target):
            hops = [_hop(G, a, b, kinds) for a, b in zip(path, path[1:])]
            yield _path_record(G, path, hops)
        if node == target or len(path) > max_hops:
            continue
        for nxt in sorted(D.successors(node), reverse=True):
            if nxt not in path and len(path) <= max_hops:
                stack.append((nxt, path + [nxt]))


def _order_key(record: dict):
    cap = record.get("capacity")
    return (-(cap if cap is not None else -1.0), len(record["nodes"]), record["nodes_labels"])


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
    return sorted(paths, key=_order_key)[:limit]


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
    for cycle in nx.simple_cycles(D, length_bound=max_length):
        start = min(range(len(cycle)), key=lambda i: (G.nodes[cycle[i]]["label"].casefold(), cycle[i]))
        nodes = cycle[start:] + cycle[:start]
        ring = nodes + [nodes[0]]
        hops = [_hop(G, a, b, kinds) for a, b in zip(ring, ring[1:])]
        record = _path_record(G, ring, hops, cycle=True)
        stated = [h for h in hops if h["low"] is not None]
        record["gross_low"] = _sum(h["low"] for h in stated) if stated else None
        record["gross_high"] = (_sum(h["high"] for h in hops) if stated and all(h["high"] is not None
                                for h in hops) else None)
        record["gross_high_known"] = _sum(h["high"] for h in hops if h["high"] is not None) if stated else None
        record["amounts_stated"] = len(stated) == len(hops)
        record["net"] = _cycle_net(G, nodes, hops)
        deals = {e["deal"] for h in hops for e in h["edges"]}
        record["arrangements"] = sorted({a for h in hops for e in h["edges"] for a in e["arrangements"]})
        record["deals"] = sorted(deals)
        record["terms_text"] = [h["terms_text"] for h in hops]
        yield record


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
        size = c["gross_high"] if c["gross_high"] is not None else max(c["gross_high_known"] or 0.0,
                                                                       c["gross_low"] or 0.0)
        return (-size, len(c["nodes"]), c["nodes_labels"])
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
