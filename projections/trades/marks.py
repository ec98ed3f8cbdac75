"""The marks read model: each symbol's last recorded mark price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from application.shared.follower import EventHandlers, handles
from domain.trades.mark import Mark


class MarksView(Protocol):
    def set_mark(self, symbol: str, price: Decimal, at: datetime, version: int) -> None: ...


class MarksProjection(EventHandlers[MarksView]):
    name = "trade_marks"

    @handles(Mark.Recorded)
    def recorded(self, e: Mark.Recorded, view: MarksView, meta: dict[str, Any]) -> None:
        view.set_mark(e.symbol, e.price, e.timestamp, e.originator_version)

    @handles(Mark.Moved)
    def moved(self, e: Mark.Moved, view: MarksView, meta: dict[str, Any]) -> None:
        view.set_mark(e.symbol, e.price, e.timestamp, e.originator_version)
