"""What-if conditions: the conditions a deal's amount depends on, their names for ``--assume``, and
assumptions about them resolved with kg:requires."""

from __future__ import annotations

from typing import Iterable, Mapping

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from kg.entities import display_name
from kg.errors import UnknownConditionError, UsageError
from kg.figures import local_name, read_figure
from kg.flows.common import KG, _sources, _text


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
