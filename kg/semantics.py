"""What an amount means: its bounds, how it is stated, and how sure it is. The one definition every
command uses (flows, cycles, trace, show, viz, exports); the stored queries compute the same columns in
SPARQL from the same data (the figure kinds' ``kg:lowFactor``/``kg:highFactor`` and the modalities'
``kg:amountStatus`` in the ontology), and the tests hold them to it. docs/semantics.md is the table.

Every amount has:

- ``low`` and ``high``: the least and the most the deal moves on what the article says, in every outcome
  still open (``high`` None: no upper limit). "Up to $100B" is 0–100B; "about $300B" is 300B–300B;
  数十亿 ("billions", an order of magnitude) is 1B–10B; "more than $8B" is 8B–(no limit); an open
  condition spans both outcomes (SoftBank's $22.5B, $12.5B if the restructuring fails: 12.5B–22.5B).
- ``kind``: how the figure is stated (kg:figureKind: Exact, Approximate, UpperBound, LowerBound,
  OrderOfMagnitude).
- ``status``: exactly one of :data:`STATUSES`. ``firm``: stated, unconditional, not a projection.
  ``derived``: not stated but computed from stated figures (``derived`` says how). ``conditional``:
  depends on a condition still open (``conditions`` says which). ``projected``, ``planned``,
  ``estimated``: a forecast or target; agreed or announced for the future (未来); a third party's
  estimate. A projection, plan or estimate outranks a condition, a condition outranks a derivation.
  ``unstated``: no amount is given.
- ``shared_with``: the other parties named with one figure for all of them (Google's and Amazon's
  数十亿 in Anthropic): the figure is theirs jointly, never split between them.

How amounts add up (:func:`counts_at_least`): the "at least" of a total adds the ``low`` of firm,
derived and conditional amounts (the least that moves whatever happens); the "at most" adds every
``high``. A projection, plan or estimate adds to "at most" only. A joint amount counts once: in full for
the party that receives it, and apart ("jointly with Amazon: $1B–$10B") for each of its payers.

>>> m = meaning(figure(100e9, "UpperBound"), modality="Planned")
>>> m.low, m.high, m.status, m.text
(0.0, 100000000000.0, 'planned', '≤ $100B')
>>> m = meaning(figure(22.5e9), figure(12.5e9), conditions=("restructuring",))
>>> m.low, m.high, m.status, m.text
(12500000000.0, 22500000000.0, 'conditional', '$12.5B–22.5B')
>>> m = meaning(figure(22.5e9), figure(12.5e9), conditions=("restructuring",), condition_status="failed",
...             modality="Conditional")     # --assume restructuring=failed
>>> m.low, m.high, m.status, m.text
(12500000000.0, 12500000000.0, 'firm', '$12.5B')
>>> m = meaning(figure(1e9, "OrderOfMagnitude"), shared_with=("Amazon",))
>>> m.low, m.high, m.status, m.text, m.joint_text
(1000000000.0, 10000000000.0, 'firm', '$1B–10B', '$1B–10B jointly with Amazon')
>>> meaning(figure(7.5e9, derived_by="the $30B less the $22.5B")).status
'derived'
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from kg.amounts import KIND_FACTORS, figure_bounds as bounds, format_amount, format_usd  # noqa: F401

#: The statuses of an amount, in the order they are listed.
STATUSES = ("firm", "derived", "conditional", "projected", "planned", "estimated", "unstated")

#: The status a deal's or claim's kg:modality gives its amount (kg:amountStatus in the ontology);
#: kg:Reported gives none: the amount is then firm, derived or conditional by its own terms.
MODALITY_STATUS = {"Projected": "projected", "Planned": "planned", "Pledged": "planned",
                   "Estimated": "estimated", "Conditional": "conditional"}

#: The words for each figure kind, as the stored queries' ``kind`` column gives them (the English
#: rdfs:label of the kg:FigureKind).
KIND_WORDS = {"Exact": "exact", "Approximate": "approximate", "UpperBound": "up to", "LowerBound": "more than",
              "OrderOfMagnitude": "order of magnitude"}

_OUTRANKS_CONDITION = ("projected", "planned", "estimated")


class Stated(NamedTuple):
    """A figure as this module needs it: value, kind, currency (None for a quantity) and how it was
    derived (None when the article states it). :class:`kg.figures.Figure` has the same fields."""

    value: Decimal | float
    kind: str = "Exact"
    currency: str | None = "USD"
    derived_by: str | None = None


def figure(value, kind: str = "Exact", currency: str | None = "USD", derived_by: str | None = None) -> Stated:
    """A :class:`Stated` figure (for examples and tests)."""
    return Stated(value, kind, currency, derived_by)


@dataclass(frozen=True)
class Meaning:
    """What one deal's amount means (see the module docstring). ``low`` is None when no amount is
    stated; ``text`` is the amount as written ('≤ $350B', '$12.5B–22.5B', 'amount not stated')."""

    low: float | None
    high: float | None
    kind: str | None
    status: str
    text: str
    value: float | None = None
    approximate: bool = False
    derived: str | None = None
    conditions: tuple[str, ...] = ()
    shared_with: tuple[str, ...] = ()

    @property
    def stated(self) -> bool:
        return self.low is not None

    @property
    def shared(self) -> bool:
        return bool(self.shared_with)

    @property
    def joint_text(self) -> str:
        """The amount, with whom it is shared: '$1B–10B jointly with Amazon'."""
        if not self.shared_with:
            return self.text
        return f"{self.text} jointly with {' and '.join(self.shared_with)}"

    @property
    def status_text(self) -> str:
        """The status as a note: 'derived: the $30B less the $22.5B', 'conditional on restructuring',
        'planned' ('' for firm)."""
        if self.status == "firm":
            return ""
        if self.status == "derived":
            return f"derived: {self.derived}" if self.derived else "derived"
        if self.status == "conditional" and self.conditions:
            return f"conditional on {', '.join(self.conditions)}"
        return self.status


def counts_at_least(m: Meaning) -> bool:
    """Whether ``m.low`` adds to the "at least" of a total: firm, derived and conditional amounts do
    (the least that moves whatever happens), projections, plans and estimates do not."""
    return m.stated and m.status not in _OUTRANKS_CONDITION


def status_of(*, modality: str | None = None, conditional: bool = False, derived: bool = False) -> str:
    """The one status of an amount: a projection, plan or estimate (by modality) first, then a
    condition still open, then a derivation, else firm.

    >>> status_of(modality="Projected", conditional=True), status_of(conditional=True, derived=True)
    ('projected', 'conditional')
    """
    status = MODALITY_STATUS.get(modality or "")
    if status in _OUTRANKS_CONDITION:
        return status
    if conditional or status == "conditional":
        return "conditional"
    return "derived" if derived else "firm"


def meaning(met: Stated | None, failed: Stated | None = None, *, conditions=(), condition_status: str | None = None,
            modality: str | None = None, shared_with=()) -> Meaning:
    """The meaning of a deal's amount: ``met`` is its kg:amount, ``failed`` its
    kg:amountIfConditionFails, ``conditions`` the names of the conditions it depends on and
    ``condition_status`` their state under what-if assumptions (None, 'open', 'met' or 'failed'; with
    conditions and no status they are open). ``shared_with`` names the other payers (or payees) of a
    figure stated for several together.
    """
    conditions = tuple(conditions)
    if conditions and condition_status is None:
        condition_status = "open"
    shared_with = tuple(shared_with)
    chosen = failed if condition_status == "failed" else met
    open_condition = condition_status == "open"
    derived = next((f.derived_by for f in ((met, failed) if open_condition else (chosen,)) if f and f.derived_by), None)
    if condition_status in ("met", "failed") and modality == "Conditional":
        modality = None  # the condition is settled by assumption: the amount no longer depends on it
    status = status_of(modality=modality, conditional=open_condition, derived=derived is not None)
    common = dict(derived=derived, conditions=conditions if open_condition else (), shared_with=shared_with)
    if open_condition and met is not None:
        m_low, m_high = bounds(met.value, met.kind)
        if failed is None:  # the deal happens only if the condition is met: nothing, or the figure
            text = _text(met) if met.kind == "UpperBound" else f"$0 or {_text(met)}"
            return Meaning(0.0, m_high, met.kind, status, text, float(met.value), met.kind == "Approximate", **common)
        f_low, f_high = bounds(failed.value, failed.kind)
        low = min(m_low, f_low)
        high = None if m_high is None or f_high is None else max(m_high, f_high)
        approx = "Approximate" in (met.kind, failed.kind)
        text = f"{format_usd(low)}–{format_usd(high).lstrip('$')}" if high is not None else f"> {format_usd(low)}"
        return Meaning(low, high, met.kind, status, ("~ " if approx else "") + text, float(met.value), approx, **common)
    if chosen is None:
        return Meaning(None, None, None, "unstated", "amount not stated", **common)
    low, high = bounds(chosen.value, chosen.kind)
    return Meaning(low, high, chosen.kind, status, _text(chosen), float(chosen.value), chosen.kind == "Approximate",
                   **common)


def _text(fig: Stated) -> str:
    return format_amount(float(fig.value), fig.kind, fig.currency or "USD")
