"""Revenue arithmetic by Stripe's rules: what a subscription adds to MRR, and how a change of it is classified.

MRR counts ``active`` and ``past_due`` subscriptions of paid plans at their monthly-normalised price
(a yearly price over 12, rounded to the currency's minor unit per subscription, so the total is the
sum of the rows); trials, free plans, and every other status add nothing. A change of a
subscription's contribution is one movement: ``new`` (nothing before, and the account never paid),
``reactivation`` (nothing before, but the account paid once), ``expansion`` / ``contraction`` (more or
less, same currency), ``churned`` (down to nothing). Their amounts sum to the MRR at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

COUNTED_STATUSES = frozenset({"active", "past_due"})
MONTHS_PER_INTERVAL = {"month": 1, "year": 12}
ZERO = Decimal(0)


class Movement(StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURNED = "churned"
    REACTIVATION = "reactivation"


# Movements that bring a subscriber in, and the one that takes one out (subscriber churn counts these).
ARRIVALS = frozenset({Movement.NEW, Movement.REACTIVATION})


@dataclass(frozen=True)
class Contribution:
    """What one subscription adds to MRR: under which plan, in which currency, how much (always positive)."""

    plan_code: str
    currency: str
    mrr: Decimal


def monthly_value(price: Decimal, interval: str, quantum: Decimal) -> Decimal:
    """``price`` per ``interval`` as a monthly amount, rounded half-even to ``quantum`` (the minor unit)."""
    return (price / MONTHS_PER_INTERVAL[interval]).quantize(quantum, rounding=ROUND_HALF_EVEN)


def contribution(
    status: str, plan_code: str, price: Decimal, interval: str, currency: str, quantum: Decimal, free_plan: str
) -> Contribution | None:
    """The subscription's MRR contribution in this state, or None when it adds nothing."""
    if status not in COUNTED_STATUSES or plan_code == free_plan:
        return None
    mrr = monthly_value(price, interval, quantum)
    return Contribution(plan_code, currency, mrr) if mrr > ZERO else None


@dataclass(frozen=True)
class Moved:
    """One MRR movement: its kind, its currency and its signed amount (churned and contraction are negative)."""

    kind: Movement
    currency: str
    amount: Decimal


def movements(old: Contribution | None, new: Contribution | None, paid_before: bool) -> list[Moved]:
    """The movements a subscription's change from ``old`` to ``new`` makes (``paid_before``: the account ever counted).

    A change of currency (a plan in another currency) is the old one churned and the new one arriving.
    """
    if old is not None and new is not None and old.currency == new.currency:
        delta = new.mrr - old.mrr
        if delta == ZERO:
            return []
        return [Moved(Movement.EXPANSION if delta > ZERO else Movement.CONTRACTION, new.currency, delta)]
    moved: list[Moved] = []
    if old is not None:
        moved.append(Moved(Movement.CHURNED, old.currency, -old.mrr))
    if new is not None:
        returning = paid_before or old is not None
        moved.append(Moved(Movement.REACTIVATION if returning else Movement.NEW, new.currency, new.mrr))
    return moved


def churn_rate(churned: int, subscribers_now: int, arrived: int) -> float | None:
    """Subscriber churn over a window: those who left over those there at its start (now - arrived + churned)."""
    at_start = subscribers_now - arrived + churned
    return None if at_start <= 0 else churned / at_start
