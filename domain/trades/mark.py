"""Mark: the last price recorded for a symbol, against which open positions' unrealized P&L is shown.

One stream per symbol (its id follows from the symbol); recording a price again moves it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.trades.errors import InvalidMark, InvalidTrade
from domain.trades.values import check_amount, check_symbol

_MARK_NAMESPACE: Final = uuid5(NAMESPACE_URL, "chronicle:mark")


def mark_id_for(symbol: str) -> UUID:
    return uuid5(_MARK_NAMESPACE, symbol)


def check_mark(symbol: str, price: Decimal) -> tuple[str, Decimal]:
    try:
        return check_symbol(symbol), check_amount(price, "mark price")
    except InvalidTrade as error:
        raise InvalidMark(error.detail) from None


class Mark(Aggregate):
    """A symbol's mark price."""

    class Recorded(Aggregate.Created):
        symbol: str
        price: Decimal

    class Moved(Aggregate.Event):
        symbol: str  # the stream's symbol again, so a read model needs no lookup
        price: Decimal

        def apply(self, mark: Mark) -> None:
            mark.price = self.price

    def __init__(self, symbol: str, price: Decimal) -> None:
        self.symbol = symbol
        self.price = price

    @classmethod
    def record(cls, *, symbol: str, price: Decimal, now: datetime) -> Mark:
        symbol, price = check_mark(symbol, price)
        return cls._create(cls.Recorded, id=mark_id_for(symbol), timestamp=now, symbol=symbol, price=price)

    def move(self, price: Decimal, *, now: datetime) -> None:
        _, price = check_mark(self.symbol, price)
        self.trigger_event(self.Moved, timestamp=now, symbol=self.symbol, price=price)
