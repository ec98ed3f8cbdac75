"""The realized P&L read model: per account, UTC day and symbol, counters of what the closes realized.

Metrics: ``realized`` (net of fees, as each close computed it), ``fees`` (the entry-fee shares and the
exit fees those closes charged) and ``closes`` (how many). The day is the close's (UTC). By day and
by symbol are sums of these rows; nothing is recomputed from the trades.
"""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.trades.trade import Trade

REALIZED: Final = "realized"
FEES: Final = "fees"
CLOSES: Final = "closes"


class PnlView(Protocol):
    def bump(self, account_id: UUID, day: date, symbol: str, metric: str, delta: Decimal) -> None: ...


class PnlProjection(EventHandlers[PnlView]):
    name = "trade_pnl"

    @handles(Trade.Closed)
    def closed(self, e: Trade.Closed, view: PnlView, meta: dict[str, Any]) -> None:
        day = e.timestamp.astimezone(UTC).date()
        view.bump(e.account_id, day, e.symbol, REALIZED, e.realized_pnl)
        view.bump(e.account_id, day, e.symbol, FEES, e.entry_fee_share + e.fee)
        view.bump(e.account_id, day, e.symbol, CLOSES, Decimal(1))
