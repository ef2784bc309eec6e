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

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Callable

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
    value = graph.value(node, SCHEMA.value)
    if value is None:
        return None
    texts = [_str(graph.value(node, prop)) for prop in _FIGURE_TERMS]
    return figure_from(node, str(value), *texts, sources=lambda: read_sources(graph, node))


def figure_reader(table, *, with_sources: bool = True) -> Callable[[object], Figure | None]:
    """:func:`read_figure` over a :class:`kg.bulk.PropertyTable` holding :data:`FIGURE_PROPERTIES`:
    a function of a node (a plain value of the table; it becomes ``Figure.node``). Without
    ``with_sources`` the figures' ``sources`` are left empty, and not read: for callers that need only
    the amounts."""
    from kg.bulk import text_or_none

    value = table.getter(SCHEMA.value)
    getters = [table.getter(prop) for prop in _FIGURE_TERMS]
    sources = sources_reader(table) if with_sources else lambda node: ()

    def read(node) -> Figure | None:
        found = value(node) if node is not None else None
        if not found:
            return None
        texts = [text_or_none(values[0]) if values else None for values in (get(node) for get in getters)]
        return figure_from(node, text_or_none(found[0]), *texts, sources=lambda: sources(node))
    return read


def figure_from(node, value: str | None, kind_term: str | None, currency: str | None, unit: str | None,
                rate: str | None, derived: str | None, *, sources: Callable[[], tuple]) -> Figure | None:
    """The rule of :func:`read_figure`, over the ``str`` of the node's first schema:value, kg:figureKind,
    schema:currency, schema:unitCode, kg:rate and kg:derivedBy (or None) and its ``sources()``, so that
    every way of reading a graph makes the same figures."""
    written = str(value)
    try:
        value = Decimal(written)
    except (InvalidOperation, TypeError):
        return None
    if not _finite(value):  # NaN, INF or a 401-digit number: totals would print "Infinity"
        from kg.errors import DataValueError

        raise DataValueError(f"a figure's schema:value {_clip(written)!r} is not a finite number that totals "
                             "can be made from; `kg validate` shows where it is")
    kind = local_name(kind_term) if kind_term is not None else "Exact"
    if kind not in ("Exact", "Approximate", "UpperBound", "LowerBound", "OrderOfMagnitude"):
        kind = "Exact"
    if currency is not None:
        text = format_amount(value, kind, currency)
    else:
        text = format_quantity(value, kind, local_name(unit) if unit is not None else "NUM")
    if rate is not None:
        text += _RATE_TEXT.get(local_name(rate), "/" + local_name(rate))
    return Figure(node, value, kind, currency, local_name(unit) if unit is not None else None,
                  local_name(rate) if rate is not None else None, text, sources(), derived)


def _finite(value: Decimal) -> bool:
    """Whether ``value`` is a number and stays one as a float (sums and bounds are floats).

    >>> _finite(Decimal("350000000000.0")), _finite(Decimal("NaN")), _finite(Decimal("9" * 401))
    (True, False, False)
    """
    return value.is_finite() and math.isfinite(float(value))


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else f"{text[:width - 12]}… ({len(text)} characters)"


def _str(term) -> str | None:
    return str(term) if term is not None else None


def read_sources(graph: Graph, node: Node, *, keep_unquoted: bool = False) -> tuple[SourceSpan, ...]:
    """The source spans of a fact node, in line order.

    A span without a whole-number line is skipped (``--data`` files may hold anything); so is one
    without a quote, unless ``keep_unquoted`` (its quote is then '').
    """
    return spans_from(([_str(graph.value(span, prop)) for prop in _SPAN_TERMS]
                       for span in graph.objects(node, KG.source)), keep_unquoted=keep_unquoted)


def sources_reader(table, *, keep_unquoted: bool = False) -> Callable[[object], tuple[SourceSpan, ...]]:
    """:func:`read_sources` over a :class:`kg.bulk.PropertyTable` holding :data:`SOURCE_PROPERTIES`:
    a function of a node (a plain value of the table)."""
    rows = span_rows_reader(table)
    return lambda node: spans_from(rows(node), keep_unquoted=keep_unquoted)


def span_rows_reader(table) -> Callable[[object], list[tuple]]:
    """A function of a node (a plain value of ``table``) giving, for each of its source spans, the
    ``str`` of the span's first kg:document, kg:line, kg:quote and kg:creditedTo (or None): the rows
    :func:`spans_from` and :func:`span_fields` take."""
    from kg.bulk import text_or_none

    source = table.getter(KG.source)
    getters = [table.getter(prop) for prop in _SPAN_TERMS]

    def read(node) -> list[tuple]:
        return [tuple(text_or_none(values[0]) if values else None for values in (get(span) for get in getters))
                for span in source(node) or ()]
    return read


def spans_from(rows, *, keep_unquoted: bool = False) -> tuple[SourceSpan, ...]:
    """The rule of :func:`read_sources`, over rows of the ``str`` of each span's first kg:document,
    kg:line, kg:quote and kg:creditedTo (or None)."""
    spans = [SourceSpan(*fields) for fields in (span_fields(*row, keep_unquoted=keep_unquoted) for row in rows)
             if fields is not None]
    return tuple(sorted(spans, key=lambda s: (s.line, s.quote)))


def span_fields(document, line, quote, credited, *, keep_unquoted: bool = False) -> tuple | None:
    """One span of :func:`spans_from` as the fields of its :class:`SourceSpan`, or None when it is
    skipped (no whole-number line; no quote, unless ``keep_unquoted``: the quote is then '')."""
    if line is None or (quote is None and not keep_unquoted):
        return None
    try:
        number = int(line)
    except (TypeError, ValueError):
        return None
    return str(document), number, quote if quote is not None else "", credited


# Made once: rdflib makes a new URIRef on every attribute of a Namespace.
_FIGURE_TERMS = (KG.figureKind, SCHEMA.currency, SCHEMA.unitCode, KG.rate, KG.derivedBy)
_SPAN_TERMS = (KG.document, KG.line, KG.quote, KG.creditedTo)

#: What :func:`sources_reader` reads: a fact's spans and their document, line, quote and credit.
SOURCE_PROPERTIES = (KG.source, *_SPAN_TERMS)
#: What :func:`figure_reader` reads (with :data:`SOURCE_PROPERTIES`).
FIGURE_PROPERTIES = (SCHEMA.value, *_FIGURE_TERMS, *SOURCE_PROPERTIES)
