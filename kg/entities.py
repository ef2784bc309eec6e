"""Finding entities by name, and gathering everything the graph says about one of them.

Names are matched case-insensitively and after Unicode normalization (NFKC), against English and Chinese
labels, aliases, prefixed names (``kgd:Nvidia``), full IRIs and IRI local names. An unknown name raises
``UnknownEntityError`` with the closest known names.

>>> from kg.graph import load_graph
>>> graph = load_graph()
>>> resolve_entity(graph, "英伟达") == resolve_entity(graph, "nvidia") == resolve_entity(graph, "kgd:Nvidia")
True
>>> try:
...     resolve_entity(graph, "Nvidea")
... except UnknownEntityError as error:
...     print(error)
no entity named 'Nvidea'; did you mean: Nvidia?
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.errors import UnknownEntityError, UsageError
from kg.figures import Figure, SourceSpan, local_name, read_figure, read_sources
from kg.graph import KG, ORG, PREFIXES, SCHEMA, subclasses
from kg.semantics import Meaning, meaning

_LABEL = RDFS.label  # made once: rdflib makes a new URIRef on every attribute of a namespace
_NAME_PROPERTIES = (RDFS.label, KG.alias, SKOS.altLabel, SKOS.prefLabel)

# Where several things share a name ("Google" the company, not a deal), prefer agents, then products.
_PREFERRED_TYPES = (KG.Organization, KG.Person, KG.Product, KG.ComputeResource, KG.Condition, KG.Deal)


def normalize(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, inner white space collapsed.

    >>> normalize("  Sam\tALTMAN ") == normalize("ｓａｍ altman") == "sam altman"
    True
    """
    if name.isascii():  # the same for ASCII (NFKC leaves it, casefold is lower), and several times faster
        return " ".join(name.lower().split())
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _names(graph: Graph):
    """(IRI, its names) for every data IRI with a name property: the names of one property at a time
    (label, alias ...; the IRI again for each), each list followed by the IRI's local name. Read with one
    scan of each property in plain values (kg.bulk), not rdflib terms per triple: at 100k deals
    ``graph.subject_objects`` took 12 s of a 13 s `kg show`.

    Ontology terms are left out (they are reached by prefixed name, ``kg:Investor``), so that a person's
    misspelt company name is not "corrected" to a class.
    """
    from kg.bulk import PropertyTable, text

    ontology = str(KG)
    table = PropertyTable(graph, _NAME_PROPERTIES)
    for prop in _NAME_PROPERTIES:
        for subject, values in table.column(prop).items():
            if not subject.startswith(("_:", ontology)):
                yield subject, [*(text(v) for v in values), local_name(subject)]


def name_index(graph: Graph) -> dict[str, set[URIRef]]:
    """Every name (label, alias, local name) of every data IRI that has one, normalized, to its IRIs."""
    index: dict[str, set[str]] = {}
    for subject, names in _names(graph):
        for name in names:
            index.setdefault(normalize(name), set()).add(subject)
    return {name: {URIRef(iri) for iri in iris} for name, iris in index.items()}


def named(graph: Graph, name: str) -> set[URIRef]:
    """The IRIs :func:`name_index` files under ``name`` (normalized), found without building the index:
    terms are made for the matches only.

    >>> from kg.graph import load_graph
    >>> graph = load_graph()
    >>> named(graph, " NVIDIA ") == name_index(graph)["nvidia"]
    True
    """
    wanted = normalize(name)
    return {URIRef(subject) for subject, names in _names(graph) if any(normalize(n) == wanted for n in names)}


def resolve_entity(graph: Graph, name: str) -> URIRef:
    """The IRI named by ``name``; raises UnknownEntityError (with suggestions) or UsageError (ambiguous)."""
    text = name.strip()
    iri = _as_iri(graph, text)
    if iri is not None:
        return iri
    candidates = named(graph, text)
    if len(candidates) == 1:
        return next(iter(candidates))
    if candidates:
        return _prefer(graph, candidates, name)
    raise UnknownEntityError(name, suggest_names(graph, text))


def suggest_names(graph: Graph, name: str, index: dict[str, set[URIRef]] | None = None, limit: int = 3) -> list[str]:
    """The display names closest to ``name`` (spelling mistakes, partial names)."""
    index = index if index is not None else name_index(graph)
    wanted = normalize(name)
    # A name that starts a known name ("Sam" in "Sam Altman") beats a near spelling ("Sam" ~ "AMD").
    close = sorted((known for known in index if wanted and known.startswith(wanted)), key=len)
    if not close:
        scored = sorted(((difflib.SequenceMatcher(None, wanted, known).ratio(), known) for known in index), reverse=True)
        best = scored[0][0] if scored else 0.0
        close = [known for ratio, known in scored if ratio >= max(0.6, best - 0.1)]
    if not close:
        close = sorted((known for known in index if wanted and wanted in known), key=len)
    names = []
    for key in close:
        for iri in sorted(index[key]):
            label = display_name(graph, iri)
            if label not in names:
                names.append(label)
    return names[:limit]


def display_name(graph: Graph, iri, lang: str = "en", *, fallback: bool = True) -> str:
    """The label in ``lang``, falling back to a label without a language tag, then any label, then the
    local name; with ``fallback=False`` the label in ``lang`` or ''."""
    labels = [(str(label), getattr(label, "language", None), isinstance(label, Literal))
              for label in graph.objects(iri, RDFS.label)]
    if not labels and fallback:
        described = _unlabeled_name(graph, iri, lang)
        if described:
            return described
    return choose_label(labels, iri, lang, fallback=fallback)


def _unlabeled_name(graph: Graph, node, lang: str) -> str | None:
    """A name for a node without a label, made from what it is, so that no text output shows an
    internal ID: a role 'Jensen Huang: chief executive, Nvidia', a claim 'OpenAI: cash', a figure
    '$30B', else its summary."""
    member, organization = graph.value(node, ORG.member), graph.value(node, ORG.organization)
    if member is not None and organization is not None:
        role = graph.value(node, ORG.role)
        return (f"{display_name(graph, member, lang)}: {display_name(graph, role, lang) if role is not None else 'member'}, "
                f"{display_name(graph, organization, lang)}")
    about, metric = graph.value(node, KG.about), graph.value(node, KG.metric)
    if about is not None and metric is not None:
        return f"{display_name(graph, about, lang)}: {display_name(graph, metric, lang)}"
    if graph.value(node, SCHEMA.value) is not None:
        figure = read_figure(graph, node)
        if figure is not None:
            return figure.text
    summaries = [str(s) for s in graph.objects(node, KG.summary) if getattr(s, "language", None) in (lang, None)]
    return min(summaries, key=len) if summaries else None


def display_name_in(table, key, lang: str = "en", *, fallback: bool = True) -> str:
    """:func:`display_name` from a :class:`kg.bulk.PropertyTable` holding rdfs:label (``key`` is the
    table's plain value of the IRI)."""
    from kg.bulk import Lit, text

    labels = ((label.text, label.language, True) if type(label) is Lit else (text(label), None, False)
              for label in table.objects(key, _LABEL))
    return choose_label(labels, text(key), lang, fallback=fallback)


def choose_label(labels, iri, lang: str = "en", *, fallback: bool = True) -> str:
    """The rule of :func:`display_name`, over ``labels``: (text, language tag or None, is a literal)
    in the graph's order.

    >>> choose_label([("Nvidia", "en", True), ("英伟达", "zh", True)], "kgd:Nvidia", "zh")
    '英伟达'
    >>> choose_label([("Nvidia", "en", True)], "kgd:Nvidia", "zh", fallback=False)
    ''
    >>> choose_label([], "https://w3id.org/aimoney/id/Nvidia")
    'Nvidia'
    """
    other = None
    for label, language, is_literal in labels:
        if language == lang:
            return label
        if not other or (language is None and is_literal):  # an untagged label is the name itself
            other = label
    if not fallback:
        return ""
    return other or local_name(iri)


def _as_iri(graph: Graph, text: str) -> URIRef | None:
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if text.startswith(("http://", "https://", "urn:")):
        iri = URIRef(text)
        return iri if (iri, None, None) in graph else None
    prefix, sep, rest = text.partition(":")
    if sep and prefix in PREFIXES and " " not in rest:
        iri = URIRef(str(PREFIXES[prefix]) + rest)
        return iri if (iri, None, None) in graph else None
    return None


def _prefer(graph: Graph, candidates: set[URIRef], name: str) -> URIRef:
    for wanted in _PREFERRED_TYPES:
        matching = [iri for iri in candidates if _is_a(graph, iri, wanted)]
        if len(matching) == 1:
            return matching[0]
    names = ", ".join(sorted(graph.namespace_manager.normalizeUri(iri) for iri in candidates))
    raise UsageError(f"the name {name!r} is ambiguous: it names {names}; use one of these")


def _is_a(graph: Graph, iri, cls) -> bool:
    return not subclasses(graph, cls).isdisjoint(graph.objects(iri, RDF.type))


# ---------------------------------------------------------------------------------------------------
# Everything about one entity (for `kg show`)


@dataclass
class DealView:
    """A deal seen from one party: its role, the other parties, the amount and terms, and sources."""

    iri: URIRef
    label: str
    kind: str
    role: str
    counterparties: list[tuple[str, str]]
    amount: Figure | None
    amount_if_condition_fails: Figure | None
    terms: list[tuple[str, Figure]]
    conditions: list[str]
    modality: str | None
    sources: tuple[SourceSpan, ...]
    meaning: Meaning | None = None
    payers: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)


@dataclass
class ConditionView:
    """A condition: its deadline, what it requires and what requires it, and the deals that depend on it
    (directly or through a condition that requires it) with their amounts either way."""

    deadline: str
    requires: list[str]
    required_by: list[str]
    deals: list[dict]


@dataclass
class ClaimView:
    """A figure claimed about the entity, with the period and modality it refers to."""

    iri: URIRef
    about: str
    metric: str
    figure: Figure | None
    period: str
    modality: str | None
    segment: str | None
    sources: tuple[SourceSpan, ...]


@dataclass
class EntityView:
    """What `kg show` prints: names, kinds, roles, deals, claims and statements about one entity."""

    iri: URIRef
    label_en: str
    label_zh: str | None
    aliases: list[str]
    kinds: list[str]
    same_as: list[str]
    roles: list[tuple[str, str, str, tuple[SourceSpan, ...]]] = field(default_factory=list)
    deals: list[DealView] = field(default_factory=list)
    claims: list[ClaimView] = field(default_factory=list)
    statements: list[tuple[str, tuple[SourceSpan, ...]]] = field(default_factory=list)
    sources: tuple[SourceSpan, ...] = ()
    condition: ConditionView | None = None


_ROLE_PROPERTIES = (KG.payer, KG.payee, KG.grantor, KG.grantee, KG.partner, KG.advisor, KG.negotiatedBy)
_TERM_PROPERTIES = (KG.originalAmount, KG.reduction, KG.quantity, KG.shareOfEquity, KG.pricePerShare, KG.duration)


def describe_entity(graph: Graph, iri: URIRef) -> EntityView:
    """Gather everything the graph states about ``iri`` (does not change the graph)."""
    label_zh = next((str(l) for l in graph.objects(iri, RDFS.label) if getattr(l, "language", None) == "zh"), None)
    view = EntityView(
        iri=iri,
        label_en=display_name(graph, iri),
        label_zh=label_zh,
        aliases=sorted(str(a) for a in graph.objects(iri, KG.alias)),
        kinds=sorted(display_name(graph, kind) for kind in graph.objects(iri, RDF.type)),
        same_as=sorted(str(s) for s in graph.objects(iri, OWL.sameAs)),
        sources=named_sources(graph, read_sources(graph, iri)),
    )
    if (iri, RDF.type, KG.Condition) in graph or (None, KG.condition, iri) in graph:
        view.condition = _condition_view(graph, iri)
    for assignment in set(graph.subjects(ORG.member, iri)) | set(graph.subjects(ORG.organization, iri)):
        person, organization = graph.value(assignment, ORG.member), graph.value(assignment, ORG.organization)
        role = display_name(graph, graph.value(assignment, ORG.role))
        if graph.value(assignment, KG.former) is not None and graph.value(assignment, KG.former).toPython():
            role = "former " + role
        view.roles.append((display_name(graph, person), role, display_name(graph, organization),
                           named_sources(graph, read_sources(graph, assignment))))
    for prop in _ROLE_PROPERTIES:
        for deal in graph.subjects(prop, iri):
            view.deals.append(_deal_view(graph, deal, iri, display_name(graph, prop)))
    for claim in set(graph.subjects(KG.about, iri)) | set(graph.subjects(KG.mentions, iri)):
        if (claim, RDF.type, KG.Claim) in graph:
            view.claims.append(_claim_view(graph, claim))
    # Statements about the entity, mentioning it, or about one of its deals ("no outside bankers").
    statement_nodes = set(graph.subjects(KG.about, iri)) | set(graph.subjects(KG.mentions, iri))
    for deal in view.deals:
        statement_nodes |= set(graph.subjects(KG.about, deal.iri))
    for statement in statement_nodes:
        if (statement, RDF.type, KG.Statement) in graph:
            summary = graph.value(statement, KG.summary) or ""
            summaries = [s for s in graph.objects(statement, KG.summary) if getattr(s, "language", None) == "en"]
            view.statements.append((str(summaries[0] if summaries else summary),
                                    named_sources(graph, read_sources(graph, statement))))
    view.roles.sort(key=lambda r: (r[0], r[1], r[2]))
    view.deals.sort(key=lambda d: (-(d.meaning.high or d.meaning.low or 0) if d.meaning.stated else 1, d.label))
    view.claims.sort(key=lambda c: (c.about != view.label_en, c.metric, c.period))
    view.statements.sort(key=lambda s: (s[1][0].line if s[1] else 0, s[0]))
    return view


def _deal_view(graph: Graph, deal, entity, role: str) -> DealView:
    others = []
    for prop in _ROLE_PROPERTIES[:5]:
        for party in graph.objects(deal, prop):
            if party != entity:
                others.append((local_name(prop), display_name(graph, party)))
    terms = []
    for prop in _TERM_PROPERTIES:
        for node in graph.objects(deal, prop):
            figure = read_figure(graph, node)
            if figure is not None:
                terms.append((display_name(graph, prop), figure))
    modality = graph.value(deal, KG.modality)
    kind = next((display_name(graph, t) for t in graph.objects(deal, RDF.type)), "deal")
    payers = sorted(display_name(graph, p) for p in deal_payers(graph, deal))
    return DealView(
        meaning=deal_meaning(graph, deal, party=entity), payers=payers,
        parts=sorted(display_name(graph, p) for p in graph.subjects(KG.partOfDeal, deal)),
        iri=deal, label=display_name(graph, deal), kind=kind, role=role, counterparties=sorted(others),
        amount=read_figure(graph, graph.value(deal, KG.amount)),
        amount_if_condition_fails=read_figure(graph, graph.value(deal, KG.amountIfConditionFails)),
        terms=terms,
        conditions=sorted(display_name(graph, c) for c in graph.objects(deal, KG.condition)),
        modality=display_name(graph, modality) if modality is not None else None,
        sources=named_sources(graph, read_sources(graph, deal)),
    )


def _claim_view(graph: Graph, claim) -> ClaimView:
    modality = graph.value(claim, KG.modality)
    segment = graph.value(claim, KG.segment)
    about = ", ".join(sorted(display_name(graph, a) for a in graph.objects(claim, KG.about)))
    return ClaimView(
        iri=claim, about=about, metric=display_name(graph, graph.value(claim, KG.metric)),
        figure=read_figure(graph, graph.value(claim, KG.figure)), period=period_text(graph, claim),
        modality=display_name(graph, modality) if modality is not None else None,
        segment=display_name(graph, segment) if segment is not None else None,
        sources=named_sources(graph, read_sources(graph, claim)),
    )


def named_sources(graph: Graph, spans) -> tuple[SourceSpan, ...]:
    """``spans`` with whom each is credited to by name ('Financial Times'), not by IRI."""
    return tuple(SourceSpan(s.document, s.line, s.quote, display_name(graph, URIRef(s.credited_to)))
                 if s.credited_to else s for s in spans)


def deal_payers(graph: Graph, deal) -> list:
    """The parties value leaves in a deal: its kg:payer, else its kg:grantor."""
    return sorted(graph.objects(deal, KG.payer), key=str) or sorted(graph.objects(deal, KG.grantor), key=str)


def deal_meaning(graph: Graph, deal, *, party=None) -> Meaning:
    """The meaning (:mod:`kg.semantics`) of ``deal``'s amount, with no what-if assumption; a figure
    stated for several payers is shared with the payers other than ``party``.

    >>> from kg.graph import load_graph, KGD
    >>> m = deal_meaning(load_graph(), KGD["deal-google-amazon-anthropic-investment"], party=KGD.Google)
    >>> m.low, m.high, m.status, m.joint_text
    (1000000000.0, 10000000000.0, 'firm', '$1B–10B jointly with Amazon')
    """
    payers = deal_payers(graph, deal)
    modality = graph.value(deal, KG.modality)
    return meaning(read_figure(graph, graph.value(deal, KG.amount)),
                   read_figure(graph, graph.value(deal, KG.amountIfConditionFails)),
                   conditions=sorted(condition_name(graph, c) for c in graph.objects(deal, KG.condition)),
                   modality=local_name(modality) if modality is not None else None,
                   shared_with=[display_name(graph, p) for p in payers if p != party] if len(payers) > 1 else ())


def condition_name(graph: Graph, cond) -> str:
    """A condition's short name (its first alias, as `--assume` takes it), else its label."""
    aliases = sorted(str(a) for a in graph.objects(cond, KG.alias))
    return aliases[0] if aliases else display_name(graph, cond)


def _condition_view(graph: Graph, cond) -> ConditionView:
    deadline = " ".join(p for p in (f"by {graph.value(cond, KG.byDate)}" if graph.value(cond, KG.byDate) else "",
                                    f"({graph.value(cond, KG.timeExpression)})" if graph.value(cond, KG.timeExpression)
                                    else "") if p)
    deals = []
    for dependant in sorted(graph.transitive_subjects(KG.requires, cond), key=str):
        for deal in sorted(graph.subjects(KG.condition, dependant), key=str):
            met = read_figure(graph, graph.value(deal, KG.amount))
            failed = read_figure(graph, graph.value(deal, KG.amountIfConditionFails))
            deals.append({"label": display_name(graph, deal),
                          "payers": sorted(display_name(graph, p) for p in deal_payers(graph, deal)),
                          "payees": sorted(display_name(graph, p) for p in graph.objects(deal, KG.payee))
                          or sorted(display_name(graph, p) for p in graph.objects(deal, KG.grantee)),
                          "via": None if dependant == cond else display_name(graph, dependant),
                          "if_met": met.text if met else "amount not stated",
                          "if_failed": failed.text if failed else "nothing (the deal is off)",
                          "sources": named_sources(graph, read_sources(graph, deal))})
    return ConditionView(
        deadline=deadline,
        requires=sorted(display_name(graph, c) for c in graph.objects(cond, KG.requires)),
        required_by=sorted(display_name(graph, c) for c in graph.subjects(KG.requires, cond)),
        deals=deals)


def period_text(graph: Graph, node) -> str:
    """The time a fact refers to, as text: '2025', 'as of 2024-12-31', 'by 2025-12-31', '2025-01-01–2029-12-31'."""
    parts = []
    start, end = graph.value(node, KG.periodStart), graph.value(node, KG.periodEnd)
    if start is not None or end is not None:
        parts.append(f"{start or '…'}–{end or '…'}")
    for prop, template in ((KG.asOf, "as of {}"), (KG.byDate, "by {}"), (KG.year, "{}")):
        value = graph.value(node, prop)
        if value is not None and not parts:
            parts.append(template.format(value))
    expression = graph.value(node, KG.timeExpression)
    if expression is not None:
        parts.append(f"({expression})")
    return " ".join(parts)
