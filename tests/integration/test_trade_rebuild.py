"""Rebuilding the trades read models from the log gives exactly the live rows, and the position counters equal a
recomputation from the trade rows, live and rebuilt (on PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select

from domain.trades.values import margin_of, notional_of
from infrastructure.root import Chronicle
from infrastructure.trades.tables import (
    MARK_TABLES,
    PNL_TABLES,
    POSITION_TABLES,
    TRADE_TABLES,
    trade_positions,
    trades,
)
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register, table_rows

NAMES = ("trades", "trade_positions", "trade_pnl", "trade_marks")
D = Decimal


def trading_history(container: Chronicle, clock: Clock) -> list[UUID]:
    """Two accounts over three symbols and two days: partial closes, full closes, a cancel, marks moved."""
    app = container.trades
    a, b = register(container, clock, "a@example.com"), register(container, clock, "b@example.com")

    def open_(account: UUID, symbol: str, side: str, quantity: str, price: str, leverage: int, fee: str) -> UUID:
        market = "forex" if symbol == "EUR/USD" else "crypto"
        return app.open_trade(
            context(clock),
            account_id=account,
            symbol=symbol,
            side=side,
            quantity=D(quantity),
            price=D(price),
            leverage=leverage,
            market_type=market,
            fee=D(fee),
        ).id

    t1 = open_(a, "BTC/USDT", "buy", "3", "100", 3, "1")
    t2 = open_(a, "BTC/USDT", "buy", "1.5", "130.25", 7, "0.33")
    t3 = open_(a, "EUR/USD", "sell", "10000", "1.0845", 30, "0.5")
    t4 = open_(b, "ETH/USDT", "sell", "2", "3000", 5, "3")
    t5 = open_(b, "BTC/USDT", "buy", "0.1", "60000", 1, "0")
    app.record_mark(context(clock), symbol="BTC/USDT", price=D("120"))
    app.close_trade(context(clock), t1, account_id=a, quantity=D("1"), price=D("110"), fee=D("0.5"))
    app.close_trade(context(clock), t4, account_id=b, quantity=D("0.5"), price=D("2900"), fee=D("1"))
    app.cancel_trade(context(clock), t5, account_id=b)
    clock.advance(days=1)
    app.close_trade(context(clock), t1, account_id=a, price=D("90"), fee=D("0.5"))
    app.close_trade(context(clock), t3, account_id=a, quantity=D("3333.33333333"), price=D("1.08"), fee=D("0.1"))
    app.close_trade(context(clock), t4, account_id=b, quantity=D("0.75"), price=D("3100"), fee=D("1"))
    app.record_mark(context(clock), symbol="BTC/USDT", price=D("125.5"))
    app.record_mark(context(clock), symbol="EUR/USD", price=D("1.07"))
    return [t1, t2, t3, t4, t5]


def rows(container: Chronicle) -> dict[str, list[tuple[Any, ...]]]:
    tables = (*TRADE_TABLES, *POSITION_TABLES, *PNL_TABLES, *MARK_TABLES)
    return {table.name: table_rows(container, table) for table in tables}


def positions_recomputed_from_trades(container: Chronicle) -> dict[tuple[UUID, str, str, str], Decimal]:
    totals: dict[tuple[UUID, str, str, str], Decimal] = defaultdict(Decimal)
    with container.read_engine.connect() as conn:
        for row in conn.execute(select(trades).where(trades.c.status == "open")):
            key = (row.account_id, row.symbol, row.side)
            totals[(*key, "quantity")] += row.remaining_quantity
            totals[(*key, "cost")] += notional_of(row.remaining_quantity, row.entry_price)
            totals[(*key, "margin")] += margin_of(row.remaining_quantity, row.entry_price, row.leverage)
            totals[(*key, "trades")] += 1
    return dict(totals)


def position_counters(container: Chronicle) -> dict[tuple[UUID, str, str, str], Decimal]:
    with container.read_engine.connect() as conn:
        c = trade_positions.c
        query = select(trade_positions).where(c.metric != "entry_fee")
        return {(r.account_id, r.symbol, r.side, r.metric): Decimal(r.value) for r in conn.execute(query)}


def test_given_a_trading_history_when_its_projections_are_replayed_then_every_row_is_the_same(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container = make_container(free_plan_trades_per_day=None)
    ids = trading_history(container, clock)
    runners = [container.runners[name] for name in NAMES]
    for runner in runners:
        runner.batch_size = 3  # live: small batches, rows changed again and again across batches
        runner.catch_up()
        runner.batch_size = 2000
    live = rows(container)
    assert len(live["rm_trades"]) == len(ids)
    assert {row.status for row in _trade_rows(container)} == {"open", "closed", "canceled"}
    assert len(live["rm_trade_pnl"]) >= 6 and len(live["rm_trade_marks"]) == 2
    assert position_counters(container) == positions_recomputed_from_trades(container) != {}
    account = container.trade_queries.get(ids[0])
    assert account is not None
    figures = (
        container.trade_queries.positions(account["account_id"]),
        container.trade_queries.pnl_by_day(account["account_id"]),
        container.trade_queries.pnl_by_symbol(account["account_id"]),
    )

    for runner in runners:  # rebuilt: the whole log in one batch
        runner.reset()
    assert all(not table for table in rows(container).values())
    for runner in runners:
        runner.catch_up()

    assert rows(container) == live
    assert position_counters(container) == positions_recomputed_from_trades(container)
    assert (
        container.trade_queries.positions(account["account_id"]),
        container.trade_queries.pnl_by_day(account["account_id"]),
        container.trade_queries.pnl_by_symbol(account["account_id"]),
    ) == figures


def _trade_rows(container: Chronicle) -> list[Any]:
    with container.read_engine.connect() as conn:
        return list(conn.execute(select(trades)))
