"""The trades projections' writers: each gathers one batch's writes and flushes them in a few statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from infrastructure.shared.readstore import BatchView, Increments, PendingRows
from infrastructure.trades.tables import trade_marks, trade_pnl, trade_positions, trades


class SqlTradesView(BatchView):
    """One row per trade."""

    def __init__(self, conn: Connection) -> None:
        self._trades = PendingRows(trades, "id")
        self._stored: dict[UUID, dict[str, Any]] = {}
        super().__init__(conn, self._trades)

    def add_trade(self, trade_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._trades.add({"id": trade_id, "version": version, "updated_at": at, **fields})

    def update_trade(self, trade_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._trades.change(trade_id, version=version, updated_at=at, **fields)

    def trade(self, trade_id: UUID) -> dict[str, Any]:
        added = self._trades.added_row(trade_id)
        if added is not None:
            return added
        if trade_id not in self._stored:
            row = self.conn.execute(select(trades).where(trades.c.id == trade_id)).mappings().first()
            if row is None:
                raise LookupError(f"trade {trade_id} is not in the read model")
            self._stored[trade_id] = dict(row)
        return {**self._stored[trade_id], **self._trades.changes(trade_id)}

    def flush(self) -> None:
        super().flush()
        self._stored.clear()


class SqlPositionsView(BatchView):
    """Position counters per account, symbol, side and metric."""

    def __init__(self, conn: Connection) -> None:
        self._counters = Increments(trade_positions, ["account_id", "symbol", "side", "metric"], "value")
        super().__init__(conn, self._counters)

    def bump(self, account_id: UUID, symbol: str, side: str, metric: str, delta: Decimal) -> None:
        self._counters.add((account_id, symbol, side, metric), delta)


class SqlPnlView(BatchView):
    """Realized P&L counters per account, day, symbol and metric."""

    def __init__(self, conn: Connection) -> None:
        self._counters = Increments(trade_pnl, ["account_id", "day", "symbol", "metric"], "value")
        super().__init__(conn, self._counters)

    def bump(self, account_id: UUID, day: date, symbol: str, metric: str, delta: Decimal) -> None:
        self._counters.add((account_id, day, symbol, metric), delta)


class SqlMarksView(BatchView):
    """One row per symbol: its last mark price."""

    def __init__(self, conn: Connection) -> None:
        self._marks = PendingRows(trade_marks, "symbol")
        super().__init__(conn, self._marks)

    def set_mark(self, symbol: str, price: Decimal, at: datetime, version: int) -> None:
        self._marks.add({"symbol": symbol, "price": price, "recorded_at": at, "version": version})
