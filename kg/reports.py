"""The analyses' answers as plain data (dicts, lists, strings, numbers): what ``--format json`` prints.

Every presenter that offers these answers as data — the CLI's ``--format json`` and the server's
``/api/…`` routes — calls these functions, so both give the same data. Each takes a graph and the
user's words (names in English or Chinese, ``--assume`` strings) and raises the project's exceptions
(an unknown name, no path, no loop) exactly as the CLI reports them.

>>> from kg.graph import load_graph
>>> report = entity_report(load_graph(), "英伟达")
>>> report["label_en"], report["label_zh"]
('Nvidia', '英伟达')
"""

from __future__ import annotations

from kg.errors import NoResultsError, UsageError


def figure_dict(figure) -> dict | None:
    """A :class:`kg.figures.Figure` as data."""
    if figure is None:
        return None
    return {"value": str(figure.value), "kind": figure.kind, "currency": figure.currency, "unit": figure.unit,
            "rate": figure.rate, "text": figure.text, "low": figure.low, "high": figure.high}


def sources_list(sources) -> list[dict]:
    """Source spans (line, verbatim quote, whom the article credits) as data."""
    return [{"line": s.line, "quote": s.quote, "credited_to": s.credited_to} for s in sources]


def entity_view_dict(view) -> dict:
    """A :class:`kg.entities.EntityView` (what ``kg show`` prints) as data."""
    return {
        "iri": str(view.iri), "label_en": view.label_en, "label_zh": view.label_zh, "aliases": view.aliases,
        "kinds": view.kinds, "same_as": view.same_as,
        "roles": [{"person": p, "role": r, "organization": o, "sources": sources_list(s)} for p, r, o, s in view.roles],
        "deals": [{"iri": str(d.iri), "label": d.label, "kind": d.kind, "role": d.role,
                   "counterparties": [{"role": r, "name": n} for r, n in d.counterparties],
                   "amount": figure_dict(d.amount), "amount_if_condition_fails": figure_dict(d.amount_if_condition_fails),
                   "terms": [{"term": n, **figure_dict(f)} for n, f in d.terms], "conditions": d.conditions,
                   "modality": d.modality, "low": d.meaning.low, "high": d.meaning.high, "status": d.meaning.status,
                   "derived": d.meaning.derived, "shared_with": list(d.meaning.shared_with), "parts": d.parts,
                   "sources": sources_list(d.sources)} for d in view.deals],
        "claims": [{"iri": str(c.iri), "about": c.about, "metric": c.metric, "segment": c.segment,
                    "figure": figure_dict(c.figure), "period": c.period, "modality": c.modality,
                    "sources": sources_list(c.sources)} for c in view.claims],
        "statements": [{"summary": s, "sources": sources_list(src)} for s, src in view.statements],
        "sources": sources_list(view.sources),
        "condition": None if view.condition is None else {
            "deadline": view.condition.deadline, "requires": view.condition.requires,
            "required_by": view.condition.required_by,
            "deals": [{**d, "sources": sources_list(d["sources"])} for d in view.condition.deals]},
    }


def entity_report(graph, name: str) -> dict:
    """Everything about the entity called ``name`` (``kg show NAME --format json``)."""
    from kg.entities import describe_entity, resolve_entity

    return entity_view_dict(describe_entity(graph, resolve_entity(graph, name)))


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}")


def trace_report(graph, source: str, target: str | None = None, *, max_hops: int = 4, limit: int = 50,
                 kinds=None, assume=(), index=None) -> dict:
    """The money paths from ``source`` (to ``target``) (``kg trace … --format json``).

    ``truncated`` says whether more than ``limit`` paths exist. No path raises NoResultsError.
    ``index`` is the store's flow index (kg.flow_index), when there is one: the same answer, faster.
    """
    from kg.flows import FlowReader, parse_assumptions

    _check_limit(limit)
    reader = FlowReader(graph, parse_assumptions(assume), index=index)
    src = reader.node(source)
    dst = reader.node(target) if target else None
    if dst == src:
        raise UsageError("FROM and TO are the same entity; use `kg cycles` for money that comes back")
    paths = reader.trace(src, dst, max_hops=max_hops, kinds=kinds or None, limit=limit + 1)
    more, paths = len(paths) > limit, paths[:limit]
    if not paths:
        where = f" to {reader.label(dst)}" if dst else ""
        raise NoResultsError(f"no money path from {reader.label(src)}{where} within {max_hops} hops"
                             + (f" (kinds: {', '.join(kinds)})" if kinds else ""))
    return {"from": src, "to": dst, "assumptions": reader.assumptions, "truncated": more, "paths": paths}


def cycles_report(graph, *, max_length: int = 4, limit: int = 50, kinds=None, assume=(), index=None) -> dict:
    """The circular deals, largest first (``kg cycles --format json``). None found raises NoResultsError.
    ``index`` as for :func:`trace_report`."""
    from kg.flows import FlowReader, parse_assumptions

    _check_limit(limit)
    reader = FlowReader(graph, parse_assumptions(assume), index=index)
    found = reader.cycles(max_length=max_length, kinds=kinds or None, limit=limit + 1)
    more, found = len(found) > limit, found[:limit]
    if not found:
        raise NoResultsError(f"no circular deal of at most {max_length} parties"
                             + (f" (kinds: {', '.join(kinds)})" if kinds else ""))
    return {"assumptions": reader.assumptions, "truncated": more, "cycles": found}


def flows_report(graph, entity: str | None = None, *, kinds=None, assume=(), index=None) -> dict:
    """Money in and out per party, or of ``entity`` with its deals (``kg flows [ENTITY] --format json``).

    Totals need every deal's kind and amount, and only the entity's own deals in full
    (:meth:`kg.flows.FlowReader.totals_graph`). ``index`` as for :func:`trace_report`.
    """
    from kg.flows import FlowReader, flow_totals, parse_assumptions

    reader = FlowReader(graph, parse_assumptions(assume), index=index)
    node = reader.node(entity) if entity else None
    G = reader.totals_graph(node)
    records = flow_totals(G, node, kinds=kinds or None)
    if node is not None and not (records[0]["in"]["all"]["deals"] or records[0]["out"]["all"]["deals"]):
        raise NoResultsError(f"{G.nodes[node]['label']} has no flows of kind {', '.join(kinds)}")
    if not records:
        raise NoResultsError("no money flows in the data" + (f" of kind {', '.join(kinds)}" if kinds else ""))
    return {"assumptions": G.graph.get("assumptions", {}), "parties": records}
