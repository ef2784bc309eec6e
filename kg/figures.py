"""Reading figure nodes and source spans out of a graph, so every analysis reads them the same way.

>>> from kg.graph import load_graph, KGD, KG
>>> graph = load_graph()
>>> deal = KGD["deal-nvidia-openai-investment"]
>>> figure = read_figure(graph, graph.value(deal, KG.amount))
>>> figure.text, figure.kind, figure.low, figure.high
('≤ $100B', 'UpperBound', 0.0, 100000000000.0)
>>> [(s.line, s.quote) for s in figure.sources]
[(41, '投资最高1000亿美元')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rdflib import Graph
from rdflib.term import Node

from kg.amounts import figure_bounds, format_amount, format_quantity
from kg.graph import KG, SCHEMA


@dataclass(frozen=True)
class SourceSpan:
    """Where a fact is stated: document, line, verbatim quote, and whom the document credits."""

    document: str
    line: int
    quote: str
    credited_to: str | None = None


@dataclass(frozen=True)
class Figure:
    """A figure node read out: value, kind, currency or unit, and its text ('≤ $350B', '6 GW')."""

    node: Node
    value: Decimal
    kind: str
    currency: str | None
    unit: str | None
    rate: str | None
    text: str
    sources: tuple[SourceSpan, ...] = field(default=())
    derived_by: str | None = None

    @property
    def low(self) -> float:
        return figure_bounds(self.value, self.kind)[0]

    @property
    def high(self) -> float | None:
        return figure_bounds(self.value, self.kind)[1]

    @property
    def is_money(self) -> bool:
        return self.currency is not None


def local_name(term) -> str:
    """The part of an IRI after the last '#' or '/'."""
    text = str(term)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


_RATE_TEXT = {"PerMonth": "/month", "PerYear": "/year", "PerWeek": "/week", "PerShare": "/share"}


def read_figure(graph: Graph, node: Node) -> Figure | None:
    """The figure at ``node``, or None when it has no usable numeric value."""
    if node is None:
        return None
    raw = graph.value(node, SCHEMA.value)
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, TypeError):
        return None
    kind_term = graph.value(node, KG.figureKind)
    kind = local_name(kind_term) if kind_term is not None else "Exact"
    if kind not in ("Exact", "Approximate", "UpperBound", "LowerBound", "OrderOfMagnitude"):
        kind = "Exact"
    currency = graph.value(node, SCHEMA.currency)
    unit = graph.value(node, SCHEMA.unitCode)
    rate = graph.value(node, KG.rate)
    if currency is not None:
        text = format_amount(value, kind, str(currency))
    else:
        text = format_quantity(value, kind, local_name(unit) if unit is not None else "NUM")
    if rate is not None:
        text += _RATE_TEXT.get(local_name(rate), "/" + local_name(rate))
    derived = graph.value(node, KG.derivedBy)
    return Figure(node, value, kind, str(currency) if currency is not None else None,
                  local_name(unit) if unit is not None else None, local_name(rate) if rate is not None else None,
                  text, read_sources(graph, node), str(derived) if derived is not None else None)


def read_sources(graph: Graph, node: Node, *, keep_unquoted: bool = False) -> tuple[SourceSpan, ...]:
    """The source spans of a fact node, in line order.

    A span without a whole-number line is skipped (``--data`` files may hold anything); so is one
    without a quote, unless ``keep_unquoted`` (its quote is then '').
    """
    spans = []
    for span in graph.objects(node, KG.source):
        line, quote = graph.value(span, KG.line), graph.value(span, KG.quote)
        if line is None or (quote is None and not keep_unquoted):
            continue
        try:
            number = int(line)
        except (TypeError, ValueError):
            continue
        credited = graph.value(span, KG.creditedTo)
        spans.append(SourceSpan(str(graph.value(span, KG.document)), number, str(quote) if quote is not None else "",
                                str(credited) if credited is not None else None))
    return tuple(sorted(spans, key=lambda s: (s.line, s.quote)))
