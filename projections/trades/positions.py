"""The positions read model: per account, symbol and side, counters of what the open trades hold.

Metrics: ``quantity`` (held), ``cost`` (held * entry price, each trade's to 8 places), ``margin``
(held * entry / leverage), ``entry_fee`` (the entry fees not yet charged to a close) and ``trades``
(how many are open). Each event adds what the trade says it took or released, so the counters are
the sums over the open trades and need no scan; the average entry is ``cost / quantity``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.trades.trade import Trade

QUANTITY: Final = "quantity"
COST: Final = "cost"
MARGIN: Final = "margin"
ENTRY_FEE: Final = "entry_fee"
TRADES: Final = "trades"
METRICS: Final = (QUANTITY, COST, MARGIN, ENTRY_FEE, TRADES)


class PositionsView(Protocol):
    def bump(self, account_id: UUID, symbol: str, side: str, metric: str, delta: Decimal) -> None: ...


class PositionsProjection(EventHandlers[PositionsView]):
    name = "trade_positions"

    @handles(Trade.Opened)
    def opened(self, e: Trade.Opened, view: PositionsView, meta: dict[str, Any]) -> None:
        _move(view, e.account_id, e.symbol, e.side, e.quantity, e.cost, e.margin, e.fee, Decimal(1))

    @handles(Trade.Closed)
    def closed(self, e: Trade.Closed, view: PositionsView, meta: dict[str, Any]) -> None:
        ended = Decimal(1) if e.remaining_quantity == 0 else Decimal(0)
        released = (e.quantity, e.cost_released, e.margin_released, e.entry_fee_share, ended)
        _move(view, e.account_id, e.symbol, e.side, *(-value for value in released))

    @handles(Trade.Canceled)
    def canceled(self, e: Trade.Canceled, view: PositionsView, meta: dict[str, Any]) -> None:
        released = (e.quantity, e.cost_released, e.margin_released, e.entry_fee_released, Decimal(1))
        _move(view, e.account_id, e.symbol, e.side, *(-value for value in released))


def _move(
    view: PositionsView,
    account_id: UUID,
    symbol: str,
    side: str,
    quantity: Decimal,
    cost: Decimal,
    margin: Decimal,
    entry_fee: Decimal,
    trades: Decimal,
) -> None:
    deltas = {QUANTITY: quantity, COST: cost, MARGIN: margin, ENTRY_FEE: entry_fee, TRADES: trades}
    for metric, delta in deltas.items():
        if delta:
            view.bump(account_id, symbol, side, metric, delta)
