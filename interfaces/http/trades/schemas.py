"""Request and response models of the trades and marks routes (amounts travel as strings in answers)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from domain.trades.values import MAX_AMOUNT, MAX_LEVERAGE, MIN_LEVERAGE, PLACES, SYMBOL_MAX, SYMBOL_PATTERN
from interfaces.http.shared.schemas import Page, Strict

# Quantities and prices: above zero, at most a billion, at most 8 places (JSON numbers or strings).
Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, max_digits=18, decimal_places=PLACES, examples=["0.25"])]
Fee = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=PLACES, examples=["1.5"])]
Symbol = Annotated[
    str,
    Field(min_length=5, max_length=SYMBOL_MAX, pattern=SYMBOL_PATTERN, examples=["BTC/USDT"], description="BASE/QUOTE"),
]
# An amount in an answer: a JSON string in plain notation, as stored (``0.00000000``, never ``0E-8``).
Shown = Annotated[Decimal, PlainSerializer(lambda value: f"{value:f}", return_type=str, when_used="json")]
SideName = Literal["buy", "sell"]
MarketName = Literal["crypto", "forex"]
StatusName = Literal["open", "closed", "canceled"]

_TRADE_ID = "3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f"
_ACCOUNT_ID = "c2bb2ab8-d7ab-44f9-8293-ac618ef3fecb"
_TRADE: dict[str, Any] = {
    "id": _TRADE_ID,
    "account_id": _ACCOUNT_ID,
    "symbol": "BTC/USDT",
    "side": "buy",
    "status": "open",
    "quantity": "0.50000000",
    "remaining_quantity": "0.25000000",
    "entry_price": "60000.00000000",
    "leverage": 5,
    "market_type": "crypto",
    "entry_fee": "3.00000000",
    "fees": "4.50000000",
    "realized_pnl": "245.00000000",
    "margin": "3000.00000000",
    "closes": 1,
    "flow_id": None,
    "run_id": None,
    "agent": None,
    "opened_at": "2026-12-01T08:00:00Z",
    "ended_at": None,
    "updated_at": "2026-12-01T09:30:00Z",
    "version": 2,
}
_SIDE: dict[str, Any] = {"quantity": "0.25000000", "average_entry": "60000.00000000", "open_trades": 1}
_POSITION: dict[str, Any] = {
    "symbol": "BTC/USDT",
    "net_quantity": "0.25000000",
    "long": _SIDE,
    "short": {"quantity": "0.00000000", "average_entry": None, "open_trades": 0},
    "margin": "3000.00000000",
    "mark_price": "62000.00000000",
    "unrealized_pnl": "498.50000000",
}
_PNL: dict[str, Any] = {"day": "2026-12-01", "realized_pnl": "245.00000000", "fees": "3.00000000", "closes": 1}
_MARK: dict[str, Any] = {"symbol": "BTC/USDT", "price": "62000", "recorded_at": "2026-12-01T09:45:00Z", "version": 3}


# --- requests -------------------------------------------------------------------------


class TradeOpen(Strict):
    """A new trade for the caller (within the plan's ``trades_per_day``, counted per UTC day)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "symbol": "BTC/USDT",
                    "side": "buy",
                    "quantity": "0.5",
                    "price": "60000",
                    "leverage": 5,
                    "market_type": "crypto",
                    "fee": "3",
                }
            ]
        },
    )

    symbol: Symbol
    side: SideName
    quantity: Amount
    price: Amount = Field(description="The entry price")
    leverage: Annotated[int, Field(ge=MIN_LEVERAGE, le=MAX_LEVERAGE, strict=True)] = 1
    market_type: MarketName
    fee: Fee = Decimal(0)


class TradeClose(Strict):
    """Close part of a trade (``quantity``) or all it still holds (no ``quantity``) at ``price``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"quantity": "0.25", "price": "61000", "fee": "1.5"}]}
    )

    quantity: Amount | None = None
    price: Amount = Field(description="The exit price")
    fee: Fee = Decimal(0)


class MarkRecord(Strict):
    """A symbol's mark price: open positions on it show unrealized P&L against it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"symbol": "BTC/USDT", "price": "62000"}]}
    )

    symbol: Symbol
    price: Amount


# --- answers ---------------------------------------------------------------------------


class TradePublic(BaseModel):
    """A trade: its terms, what it still holds, its fees (entry and exit, charged so far), its realized P&L."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRADE]})

    id: UUID
    account_id: UUID
    symbol: str
    side: str
    status: str
    quantity: Shown
    remaining_quantity: Shown
    entry_price: Shown
    leverage: int
    market_type: str
    entry_fee: Shown
    fees: Shown = Field(description="The entry fee and the exit fees so far (a canceled trade's entry fee is not)")
    realized_pnl: Shown = Field(description="Net of the closed part's share of the entry fee and the exit fees")
    margin: Shown = Field(description="What the part still held takes: notional / leverage")
    closes: int
    flow_id: UUID | None
    run_id: UUID | None
    agent: str | None
    opened_at: datetime
    ended_at: datetime | None
    updated_at: datetime
    version: int


class TradeList(Page[TradePublic]):
    """A page of trades."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_TRADE], "total": 31, "limit": 20, "offset": 0, "has_more": True}]}
    )


class SideFigures(BaseModel):
    """One side of a position: what its open trades hold, at what average entry price (none when nothing)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SIDE]})

    quantity: Shown
    average_entry: Shown | None
    open_trades: int


class PositionPublic(BaseModel):
    """An open position on a symbol: what the open trades hold on each side, their margin, and at the mark."""

    model_config = ConfigDict(json_schema_extra={"examples": [_POSITION]})

    symbol: str
    net_quantity: Shown = Field(description="Held long minus held short")
    long: SideFigures
    short: SideFigures
    margin: Shown
    mark_price: Shown | None
    unrealized_pnl: Shown | None = Field(
        description="At the mark price, net of the entry fees not yet charged; null while no mark is recorded"
    )


class PnlDay(BaseModel):
    """Realized P&L of the closes on one UTC day."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PNL]})

    day: date
    realized_pnl: Shown
    fees: Shown
    closes: int


class PnlSymbol(BaseModel):
    """Realized P&L of the closes on one symbol."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**{k: v for k, v in _PNL.items() if k != "day"}, "symbol": "BTC/USDT"}]}
    )

    symbol: str
    realized_pnl: Shown
    fees: Shown
    closes: int


class MarkPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MARK]})

    symbol: str
    price: Shown
    recorded_at: datetime
    version: int
