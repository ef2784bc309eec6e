"""What the flow modules share: the vocabulary's terms, the kinds of flow, the bounds of a search and
how a figure and its sources are written on an edge."""

from __future__ import annotations

from rdflib import Graph

from kg.amounts import format_amount, format_quantity
from kg.errors import UsageError
from kg.figures import Figure, read_sources
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

#: How many paths or cycles :func:`trace` and :func:`cycles` look at before ranking them, so that output
#: and time stay bounded on large graphs (the ranking is then over the first ones found).
SCAN_LIMIT = 10_000


def _sources(graph: Graph, node) -> list[tuple[int, str]]:
    """Every distinct (line, quote) a fact is stated on, sorted: the form of the edges' ``sources``
    (a span with a line but no quote still counts, with quote '')."""
    return sorted({(span.line, span.quote) for span in read_sources(graph, node, keep_unquoted=True)})


def _text(fig: Figure) -> str:
    """A figure as the flow graph writes it. Unlike ``Figure.text``: a unit makes it a quantity and anything
    else is money (in US dollars unless a currency is stated), and the rate is left to the caller, who
    writes " at $0.01/share" itself. From the float value, as the edges' ``value`` is. A figure of a flow
    index (kg.flow_index) carries this text already (``flow_text``)."""
    written = getattr(fig, "flow_text", None)
    if written is not None:
        return written
    if fig.unit is not None:
        return format_quantity(float(fig.value), fig.kind, fig.unit)
    return format_amount(float(fig.value), fig.kind, fig.currency or "USD")


def _sum(values):
    values = list(values)
    return sum(values) if values else 0.0


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


def _check_bound(name: str, value: int, top: int = 8) -> None:
    if not isinstance(value, int) or value < 1 or value > top:
        raise UsageError(f"{name} must be between 1 and {top}, not {value}")
