"""An independent model of a trade's figures, in exact fractions: what each close should realize and hold.

It rounds as the domain documents (8 places, half to even) but computes with ``Fraction``, not the
domain's decimal helpers, so an error in those shows up as a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

PLACES = 10**8


def round8(value: Fraction) -> Fraction:
    """To 8 places, half to even (``round`` of a Fraction rounds half to even)."""
    return Fraction(round(value * PLACES), PLACES)


def exact(value: Decimal) -> Fraction:
    return Fraction(value)


@dataclass
class TradeModel:
    side: str
    quantity: Fraction
    entry: Fraction
    leverage: int
    fee: Fraction
    status: str = "open"
    remaining: Fraction = Fraction(0)
    realized: Fraction = Fraction(0)
    allocated: Fraction = Fraction(0)
    exit_fees: Fraction = Fraction(0)
    shares: list[tuple[Fraction, Fraction]] = field(default_factory=list)  # (share, the exact pro rata share)
    closes: int = 0

    def __post_init__(self) -> None:
        self.remaining = self.quantity

    def unallocated(self, held: Fraction) -> Fraction:
        return round8(self.fee * held / self.quantity)

    @property
    def margin(self) -> Fraction:
        return round8(self.remaining * self.entry / self.leverage)

    @property
    def cost(self) -> Fraction:
        return round8(self.remaining * self.entry)

    def close(self, quantity: Fraction, exit_price: Fraction, exit_fee: Fraction) -> Fraction:
        """Apply a close; answers what it realized."""
        sign = 1 if self.side == "buy" else -1
        share = self.unallocated(self.remaining) - self.unallocated(self.remaining - quantity)
        self.shares.append((share, self.fee * quantity / self.quantity))
        realized = round8(sign * (exit_price - self.entry) * quantity) - share - exit_fee
        self.remaining -= quantity
        self.realized += realized
        self.allocated += share
        self.exit_fees += exit_fee
        self.closes += 1
        if self.remaining == 0:
            self.status = "closed"
        return realized

    def cancel(self) -> None:
        self.status = "canceled"
        self.remaining = Fraction(0)
