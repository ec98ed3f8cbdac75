"""Queries on the trades read models: trades (filtered, sorted, paged), positions with unrealized P&L where a
mark exists, realized P&L by day and by symbol, marks. Figures are read from the projections' counters."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, TypedDict
from uuid import UUID

from sqlalchemy import Engine, func, select

from domain.trades.values import Side, round_amount
from infrastructure.shared.readstore import Page, fetch_page, order_by
from infrastructure.trades.tables import trade_marks, trade_pnl, trade_positions, trades
from projections.trades.pnl import CLOSES, FEES, REALIZED
from projections.trades.positions import COST, ENTRY_FEE, MARGIN, QUANTITY, TRADES

TRADE_SORTS: Final = {
    "opened_at": trades.c.opened_at,
    "symbol": trades.c.symbol,
    "quantity": trades.c.quantity,
    "realized_pnl": trades.c.realized_pnl,
    "status": trades.c.status,
}


class TradeRow(TypedDict):
    id: UUID
    account_id: UUID
    symbol: str
    side: str
    status: str
    quantity: Decimal
    remaining_quantity: Decimal
    entry_price: Decimal
    leverage: int
    market_type: str
    entry_fee: Decimal
    fees: Decimal
    realized_pnl: Decimal
    margin: Decimal
    closes: int
    flow_id: UUID | None
    run_id: UUID | None
    agent: str | None
    opened_at: datetime
    ended_at: datetime | None
    updated_at: datetime
    version: int


class SideFigures(TypedDict):
    quantity: Decimal
    average_entry: Decimal | None
    open_trades: int


class PositionRow(TypedDict):
    symbol: str
    net_quantity: Decimal  # bought minus sold, of what the open trades hold
    long: SideFigures
    short: SideFigures
    margin: Decimal
    mark_price: Decimal | None
    unrealized_pnl: Decimal | None  # at the mark, net of the entry fees not yet charged; None without a mark


class PnlRow(TypedDict):
    key: str  # the day (ISO) or the symbol
    realized_pnl: Decimal
    fees: Decimal
    closes: int


class MarkRow(TypedDict):
    symbol: str
    price: Decimal
    recorded_at: datetime
    version: int


def _amount(value: Any) -> Decimal:
    """A stored amount as an exact Decimal at 8 places (SQLite may hand back another scale)."""
    return round_amount(Decimal(str(value)))


class TradeQueries:
    """The read side of the Trades context."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(
        self,
        *,
        limit: int,
        offset: int,
        sort: str = "-opened_at",
        account_id: UUID | None = None,
        symbol: str | None = None,
        side: str | None = None,
        status: str | None = None,
        flow_id: UUID | None = None,
        opened_from: date | None = None,
        opened_to: date | None = None,
    ) -> Page[TradeRow]:
        """Trades (of ``account_id``, or of everyone when None), filtered; ``opened_*`` are UTC days, inclusive."""
        c = trades.c
        query = select(trades)
        if account_id is not None:
            query = query.where(c.account_id == account_id)
        if symbol is not None:
            query = query.where(c.symbol == symbol)
        if side is not None:
            query = query.where(c.side == side)
        if status is not None:
            query = query.where(c.status == status)
        if flow_id is not None:
            query = query.where(c.flow_id == flow_id)
        if opened_from is not None:
            query = query.where(c.opened_at >= datetime.combine(opened_from, time(), UTC))
        if opened_to is not None:
            query = query.where(c.opened_at < datetime.combine(opened_to + timedelta(days=1), time(), UTC))
        page = fetch_page(self.engine, query, order_by(sort, TRADE_SORTS, c.id), limit, offset, TradeRow)
        return Page([_trade(row) for row in page.items], page.total, page.limit, page.offset)

    def get(self, trade_id: UUID) -> TradeRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(trades).where(trades.c.id == trade_id)).mappings().first()
        return _trade(dict(row)) if row is not None else None

    def positions(self, account_id: UUID) -> list[PositionRow]:
        """The account's open positions by symbol, with unrealized P&L where a mark price was recorded."""
        p = trade_positions.c
        with self.engine.connect() as conn:
            counters = conn.execute(select(p.symbol, p.side, p.metric, p.value).where(p.account_id == account_id)).all()
            symbols = sorted({row.symbol for row in counters})
            marks = {
                row.symbol: _amount(row.price)
                for row in conn.execute(select(trade_marks).where(trade_marks.c.symbol.in_(symbols)))
            }
        figures: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
        for row in counters:
            figures[row.symbol][row.side][row.metric] = _amount(row.value)
        return [_position(symbol, figures[symbol], marks.get(symbol)) for symbol in symbols]

    def pnl_by_day(self, account_id: UUID, *, day_from: date | None = None, day_to: date | None = None) -> list[PnlRow]:
        """Realized P&L per UTC day (the days with closes), oldest first."""
        return self._pnl(account_id, trade_pnl.c.day, day_from, day_to)

    def pnl_by_symbol(
        self, account_id: UUID, *, day_from: date | None = None, day_to: date | None = None
    ) -> list[PnlRow]:
        """Realized P&L per symbol (the symbols with closes), by symbol."""
        return self._pnl(account_id, trade_pnl.c.symbol, day_from, day_to)

    def _pnl(self, account_id: UUID, key: Any, day_from: date | None, day_to: date | None) -> list[PnlRow]:
        c = trade_pnl.c
        query = select(key.label("key"), c.metric, func.sum(c.value).label("value")).where(c.account_id == account_id)
        if day_from is not None:
            query = query.where(c.day >= day_from)
        if day_to is not None:
            query = query.where(c.day <= day_to)
        query = query.group_by(key, c.metric)
        sums: dict[str, dict[str, Decimal]] = defaultdict(dict)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                name = row.key.isoformat() if isinstance(row.key, date) else str(row.key)
                sums[name][row.metric] = _amount(row.value)
        return [
            PnlRow(
                key=name,
                realized_pnl=values.get(REALIZED, _amount(0)),
                fees=values.get(FEES, _amount(0)),
                closes=int(values.get(CLOSES, 0)),
            )
            for name, values in sorted(sums.items())
        ]

    def marks(self) -> list[MarkRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(trade_marks).order_by(trade_marks.c.symbol)).mappings().all()
        return [MarkRow(**{**row, "price": _amount(row["price"])}) for row in rows]  # type: ignore[typeddict-item]


_AMOUNTS = ("quantity", "remaining_quantity", "entry_price", "entry_fee", "fees", "realized_pnl", "margin")


def _trade(row: Any) -> TradeRow:
    values = dict(row)
    for name in _AMOUNTS:
        values[name] = _amount(values[name])
    return values  # type: ignore[return-value]


def _side(metrics: dict[str, Decimal]) -> SideFigures:
    quantity = metrics.get(QUANTITY, _amount(0))
    average = round_amount(metrics.get(COST, Decimal(0)) / quantity) if quantity else None
    return SideFigures(quantity=quantity, average_entry=average, open_trades=int(metrics.get(TRADES, 0)))


def _position(symbol: str, sides: dict[str, dict[str, Decimal]], mark: Decimal | None) -> PositionRow:
    long, short = sides.get(Side.BUY.value, {}), sides.get(Side.SELL.value, {})
    zero = Decimal(0)
    unrealized = None
    if mark is not None:
        gained = mark * long.get(QUANTITY, zero) - long.get(COST, zero) - long.get(ENTRY_FEE, zero)
        gained += short.get(COST, zero) - mark * short.get(QUANTITY, zero) - short.get(ENTRY_FEE, zero)
        unrealized = round_amount(gained)
    return PositionRow(
        symbol=symbol,
        net_quantity=round_amount(long.get(QUANTITY, zero) - short.get(QUANTITY, zero)),
        long=_side(long),
        short=_side(short),
        margin=round_amount(long.get(MARGIN, zero) + short.get(MARGIN, zero)),
        mark_price=mark,
        unrealized_pnl=unrealized,
    )
