"""Commands on the caller's own trades (open, close, cancel) and on mark prices (admin)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from application.trades.application import TradesApplication
from domain.trades.permissions import MARKS_WRITE, TRADES_OWN
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Cmd
from interfaces.http.shared.schemas import CommandAccepted
from interfaces.http.shared.services import provide
from interfaces.http.trades.schemas import MarkRecord, TradeClose, TradeOpen

router = APIRouter(tags=["trades: commands"])

Trades = Annotated[TradesApplication, provide(TradesApplication)]
Trader = Annotated[Principal, Depends(require(TRADES_OWN))]
MarkWriter = Annotated[Principal, Depends(require(MARKS_WRITE))]


@router.post("/api/v1/trades", status_code=status.HTTP_201_CREATED)
def open_trade(body: TradeOpen, cmd: Cmd, app: Trades, trader: Trader) -> CommandAccepted:
    """Open a trade; your plan's ``trades_per_day`` (per UTC day) is checked as it is saved (409 when used up)."""
    return cmd.accepted(app.open_trade(cmd.ctx, account_id=trader.account_id, **body.model_dump()))


@router.post("/api/v1/trades/{trade_id}/close")
def close_trade(trade_id: UUID, body: TradeClose, cmd: Cmd, app: Trades, trader: Trader) -> CommandAccepted:
    """Close part of your trade, or all it holds; realizes P&L net of fees (another's trade is not found)."""
    result = app.close_trade(
        cmd.ctx,
        trade_id,
        account_id=trader.account_id,
        quantity=body.quantity,
        price=body.price,
        fee=body.fee,
        expected_version=cmd.expected_version,
    )
    return cmd.accepted(result)


@router.post("/api/v1/trades/{trade_id}/cancel")
def cancel_trade(trade_id: UUID, cmd: Cmd, app: Trades, trader: Trader) -> CommandAccepted:
    """Cancel your open trade while none of it was closed (another's trade is not found)."""
    return cmd.accepted(
        app.cancel_trade(cmd.ctx, trade_id, account_id=trader.account_id, expected_version=cmd.expected_version)
    )


@router.post("/api/v1/marks")
def record_mark(body: MarkRecord, cmd: Cmd, app: Trades, _: MarkWriter) -> CommandAccepted:
    """Record a symbol's mark price (admin): positions on it show unrealized P&L against the last one."""
    return cmd.accepted(app.record_mark(cmd.ctx, symbol=body.symbol, price=body.price))
