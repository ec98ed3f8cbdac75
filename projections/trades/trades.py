"""The trades read model: one row per trade, with what it still holds and what it realized so far."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.trades.trade import Trade
from domain.trades.values import TradeStatus


class TradesView(Protocol):
    def add_trade(self, trade_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_trade(self, trade_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def trade(self, trade_id: UUID) -> dict[str, Any]:
        """The trade's row as this batch has it (written on ``Opened``)."""
        ...


class TradesProjection(EventHandlers[TradesView]):
    name = "trades"

    @handles(Trade.Opened)
    def opened(self, e: Trade.Opened, view: TradesView, meta: dict[str, Any]) -> None:
        view.add_trade(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            account_id=e.account_id,
            symbol=e.symbol,
            side=e.side,
            status=TradeStatus.OPEN.value,
            quantity=e.quantity,
            remaining_quantity=e.quantity,
            entry_price=e.entry_price,
            leverage=e.leverage,
            market_type=e.market_type,
            entry_fee=e.fee,
            fees=e.fee,
            realized_pnl=Decimal(0),
            margin=e.margin,
            closes=0,
            flow_id=e.flow_id,
            run_id=e.run_id,
            agent=e.agent,
            opened_at=e.timestamp,
            ended_at=None,
        )

    @handles(Trade.Closed)
    def closed(self, e: Trade.Closed, view: TradesView, meta: dict[str, Any]) -> None:
        row = view.trade(e.originator_id)
        ended = e.remaining_quantity == 0
        view.update_trade(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            remaining_quantity=e.remaining_quantity,
            realized_pnl=row["realized_pnl"] + e.realized_pnl,
            fees=row["fees"] + e.fee,
            margin=row["margin"] - e.margin_released,
            closes=row["closes"] + 1,
            status=TradeStatus.CLOSED.value if ended else TradeStatus.OPEN.value,
            ended_at=e.timestamp if ended else None,
        )

    @handles(Trade.Canceled)
    def canceled(self, e: Trade.Canceled, view: TradesView, meta: dict[str, Any]) -> None:
        row = view.trade(e.originator_id)
        view.update_trade(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            status=TradeStatus.CANCELED.value,
            remaining_quantity=Decimal(0),
            fees=row["fees"] - e.entry_fee_released,  # a canceled trade is charged no fee
            margin=Decimal(0),
            ended_at=e.timestamp,
        )
