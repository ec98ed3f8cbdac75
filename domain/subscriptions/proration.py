"""Money in the currency's minor unit, and the proration of a plan change within a billing period.

Invariants:
- amounts are ``Decimal`` with exactly the currency's number of minor-unit places (cents for USD,
  none for JPY, three for KWD), rounded half to even;
- ``prorate`` answers a credit for the unused part of the old price (never positive) and a charge
  for the new price over the same part (never negative); together they are exactly the pro-rata
  price difference rounded to the minor unit (the charge line takes the rounding);
- zero-amount lines are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from domain.subscriptions.errors import InvalidPlan

CURRENCY_PATTERN: Final = re.compile(r"^[A-Z]{3}$")
# ISO 4217 currencies whose minor unit is not the hundredth.
_MINOR_UNITS: Final[dict[str, int]] = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"], 0),
    **dict.fromkeys(["UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
MAX_PRICE: Final = Decimal("1000000000")


def check_currency(currency: str) -> str:
    if not CURRENCY_PATTERN.match(currency):
        raise InvalidPlan("A currency is an ISO 4217 code of three capital letters (USD, EUR, JPY)")
    return currency


def minor_unit(currency: str) -> int:
    """How many decimal places the currency's smallest unit has (2 for USD, 0 for JPY)."""
    return _MINOR_UNITS.get(check_currency(currency), 2)


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded (half to even) to the currency's minor unit."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_EVEN)


def check_price(price: Decimal, currency: str) -> Decimal:
    """A plan's price: finite, not negative, bounded, with at most the currency's places; as stored."""
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise InvalidPlan(f"{price} is not a price: at least 0, at most {MAX_PRICE}")
    exact = to_minor_unit(price, currency)
    if exact != price:
        raise InvalidPlan(f"{price} has more places than {currency}'s minor unit ({minor_unit(currency)})")
    return exact


@dataclass(frozen=True)
class Line:
    """One line of an invoice: ``kind`` is plan, credit or charge; the amount in the minor unit."""

    kind: str
    description: str
    amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "amount": self.amount}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Line:
        return cls(kind=str(data["kind"]), description=str(data["description"]), amount=Decimal(data["amount"]))


def unused_fraction(period_start: datetime, period_end: datetime, at: datetime) -> Decimal:
    """The part of the period still to come at ``at`` (0 … 1), exact to the microsecond."""
    length = _micros(period_end - period_start)
    if length <= 0:
        return Decimal(0)
    left = min(max(_micros(period_end - at), 0), length)
    return Decimal(left) / Decimal(length)


def prorate(
    old_price: Decimal,
    new_price: Decimal,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    *,
    old_name: str = "the old plan",
    new_name: str = "the new plan",
) -> list[Line]:
    """The lines of a plan change at ``at`` within ``[period_start, period_end)``."""
    fraction = unused_fraction(period_start, period_end, at)
    credit = -to_minor_unit(old_price * fraction, currency)
    difference = to_minor_unit((new_price - old_price) * fraction, currency)
    # Half-to-even rounding is symmetric, so with a positive new price the charge cannot fall below 0.
    charge = difference - credit
    percent = (fraction * 100).quantize(Decimal("0.01"))
    lines = []
    if credit:
        lines.append(Line("credit", f"Unused time on {old_name} ({percent}% of the period)", credit))
    if charge:
        lines.append(Line("charge", f"Remaining time on {new_name} ({percent}% of the period)", charge))
    return lines


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
