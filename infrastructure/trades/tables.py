"""The trades read models' tables: trades, position counters, realized P&L counters, mark prices."""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, Numeric, String, Table
from sqlalchemy import Uuid as SqlUuid

from domain.trades.values import AGENT_MAX, SYMBOL_MAX
from infrastructure.shared.readstore import UtcDateTime, metadata

# Quantities, prices and money: 8 places (domain.trades.values), with room for sums of many trades.
AMOUNT = Numeric(38, 8)

trades = Table(
    "rm_trades",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("account_id", SqlUuid, nullable=False),
    Column("symbol", String(SYMBOL_MAX), nullable=False),
    Column("side", String(4), nullable=False),
    Column("status", String(8), nullable=False),
    Column("quantity", AMOUNT, nullable=False),
    Column("remaining_quantity", AMOUNT, nullable=False),
    Column("entry_price", AMOUNT, nullable=False),
    Column("leverage", Integer, nullable=False),
    Column("market_type", String(8), nullable=False),
    Column("entry_fee", AMOUNT, nullable=False),
    Column("fees", AMOUNT, nullable=False),
    Column("realized_pnl", AMOUNT, nullable=False),
    Column("margin", AMOUNT, nullable=False),
    Column("closes", Integer, nullable=False),
    Column("flow_id", SqlUuid),
    Column("run_id", SqlUuid),
    Column("agent", String(AGENT_MAX)),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_trades_account_opened", "account_id", "opened_at"),
    Index("ix_rm_trades_account_symbol", "account_id", "symbol"),
    Index("ix_rm_trades_flow", "flow_id"),
)

trade_positions = Table(
    "rm_trade_positions",
    metadata,
    Column("account_id", SqlUuid, primary_key=True),
    Column("symbol", String(SYMBOL_MAX), primary_key=True),
    Column("side", String(4), primary_key=True),
    Column("metric", String(10), primary_key=True),
    Column("value", AMOUNT, nullable=False),
)

trade_pnl = Table(
    "rm_trade_pnl",
    metadata,
    Column("account_id", SqlUuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("symbol", String(SYMBOL_MAX), primary_key=True),
    Column("metric", String(10), primary_key=True),
    Column("value", AMOUNT, nullable=False),
)

trade_marks = Table(
    "rm_trade_marks",
    metadata,
    Column("symbol", String(SYMBOL_MAX), primary_key=True),
    Column("price", AMOUNT, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

TRADE_TABLES = (trades,)
POSITION_TABLES = (trade_positions,)
PNL_TABLES = (trade_pnl,)
MARK_TABLES = (trade_marks,)
