"""Figures as numbers and as text: the bounds a figure kind implies, and how amounts are written.

One place decides what "up to", "about", "more than" and "order of magnitude" mean numerically, and how
they are shown ("$100B", "≤ $350B", "~ $13B", "> $8B"), so every presenter writes them alike.

>>> figure_bounds(100e9, "UpperBound")
(0.0, 100000000000.0)
>>> format_amount(350e9, "UpperBound")
'≤ $350B'
>>> format_amount(13e9, "Approximate"), format_amount(8e9, "LowerBound"), format_amount(0.01, "Exact")
('~ $13B', '> $8B', '$0.01')
>>> format_amount(1e10, "OrderOfMagnitude")
'$10B–100B'
>>> format_quantity(6, "Exact", "GigaW"), format_quantity(10, "UpperBound", "PERCENT")
('6 GW', '≤ 10%')
"""

from __future__ import annotations

from decimal import Decimal

#: The figure kinds of the ontology (local names of kg:FigureKind instances).
FIGURE_KINDS = ("Exact", "Approximate", "UpperBound", "LowerBound", "OrderOfMagnitude")

_PREFIX = {"Exact": "", "Approximate": "~ ", "UpperBound": "≤ ", "LowerBound": "> ", "OrderOfMagnitude": ""}

_UNITS = {"GigaW": " GW", "PERCENT": "%", "YR": " years", "NUM": "", "CalendarYear": ""}


#: (low factor, high factor) of each figure kind: low = value × low factor, high = value × high factor
#: (None: no upper limit). The ontology states the same on each kg:FigureKind (kg:lowFactor,
#: kg:highFactor), which is what the stored queries use; a test holds the two equal.
KIND_FACTORS: dict[str, tuple[int, int | None]] = {
    "Exact": (1, 1), "Approximate": (1, 1), "UpperBound": (0, 1), "LowerBound": (1, None),
    "OrderOfMagnitude": (1, 10),
}


def figure_bounds(value, kind: str) -> tuple[float, float | None]:
    """(low, high) of what a figure allows; high is None when there is no upper limit.

    An "up to" figure allows anything from 0; an order of magnitude anything below ten times its value.
    An approximate figure keeps its value as both bounds (callers keep the approximate flag).
    """
    if kind not in KIND_FACTORS:
        raise ValueError(f"unknown figure kind {kind!r}")
    low, high = KIND_FACTORS[kind]
    value = float(value)
    return value * low, (value * high if high is not None else None)


_SIZES = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"))


def format_usd(value) -> str:
    """Dollars in short form: $1.2T, $350B, $7.5B, $350M, $200, $0.01."""
    value = Decimal(str(value))
    for size, suffix in _SIZES:
        if abs(value) >= size:
            return f"${_trim(value / size)}{suffix}"
    return f"${_trim(value)}"


def format_amount(value, kind: str = "Exact", currency: str = "USD") -> str:
    """An amount with its kind: '$100B', '≤ $350B', '~ $13B', '> $8B', '$1B–10B'."""
    if currency != "USD":
        return f"{_PREFIX.get(kind, '')}{_trim(Decimal(str(value)))} {currency}"
    if kind == "OrderOfMagnitude":
        low = format_usd(value)
        high = format_usd(Decimal(str(value)) * 10).lstrip("$")
        return f"{low}–{high}"
    return f"{_PREFIX[kind]}{format_usd(value)}"


def format_quantity(value, kind: str = "Exact", unit: str = "NUM") -> str:
    """A quantity with its kind and unit: '6 GW', '≤ 10%', '> 1,000,000', '5 years'."""
    number = Decimal(str(value))
    text = f"{number:,.0f}" if unit == "NUM" and number == number.to_integral() else _trim(number)
    if unit == "CalendarYear":
        text = str(int(number))
    return f"{_PREFIX.get(kind, '')}{text}{_UNITS.get(unit, ' ' + unit)}"


def _trim(number: Decimal) -> str:
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
