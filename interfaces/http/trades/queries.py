"""Queries on trades: the caller's trades (admin and auditor: anyone's), one trade, open positions with
unrealized P&L, realized P&L by day and by symbol, and the mark prices.

Whose figures: the caller's own; a caller holding ``trades:read_all`` may name another account with
``account_id``, and one without it who does is refused (403: it names no trade, so nothing leaks). A
trade of another account is not found (404), as a missing one, unless the caller reads all.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.trades.errors import TradeNotFound
from domain.trades.permissions import TRADES_READ, TRADES_READ_ALL
from infrastructure.trades.queries import TRADE_SORTS, TradeQueries
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.queries import Paging, sort_pattern, waits_for
from interfaces.http.shared.schemas import page_of
from interfaces.http.shared.services import provide
from interfaces.http.trades.schemas import (
    MarkPublic,
    PnlDay,
    PnlSymbol,
    PositionPublic,
    SideName,
    StatusName,
    Symbol,
    TradeList,
    TradePublic,
)

router = APIRouter(tags=["trades: queries"])

Queries = Annotated[TradeQueries, provide(TradeQueries)]
Reader = Annotated[Principal, Depends(require(TRADES_READ))]
AccountFilter = Annotated[
    UUID | None, Query(description="Another account's (needs trades:read_all); yours when left out")
]
DayFrom = Annotated[date | None, Query(description="From this UTC day, inclusive")]
DayTo = Annotated[date | None, Query(description="To this UTC day, inclusive")]


def whose(reader: Principal, account_id: UUID | None) -> UUID:
    """The account a query is about: the caller's, or the one named by a caller who reads all."""
    if account_id is None or account_id == reader.account_id:
        return reader.account_id
    if TRADES_READ_ALL not in reader.permissions:
        raise Problem(403, "forbidden", "Permission denied", f"Naming another account needs {TRADES_READ_ALL!r}")
    return account_id


@router.get("/api/v1/trades", dependencies=[waits_for("trades")])
def list_trades(
    reader: Reader,
    queries: Queries,
    paging: Paging,
    account_id: AccountFilter = None,
    everyone: Annotated[bool, Query(description="Every account's trades (needs trades:read_all)")] = False,
    sort: Annotated[
        str, Query(pattern=sort_pattern(TRADE_SORTS), description="A field, '-' prefix for descending")
    ] = "-opened_at",
    symbol: Annotated[Symbol | None, Query()] = None,
    side: SideName | None = None,
    status: StatusName | None = None,
    flow_id: UUID | None = None,
    opened_from: DayFrom = None,
    opened_to: DayTo = None,
) -> TradeList:
    """Your trades (or, reading all, another account's or everyone's), filtered, sorted and paged."""
    if everyone and TRADES_READ_ALL not in reader.permissions:
        raise Problem(403, "forbidden", "Permission denied", f"Every account's trades needs {TRADES_READ_ALL!r}")
    limit, offset = paging
    page = queries.search(
        limit=limit,
        offset=offset,
        sort=sort,
        account_id=None if everyone and account_id is None else whose(reader, account_id),
        symbol=symbol,
        side=side,
        status=status,
        flow_id=flow_id,
        opened_from=opened_from,
        opened_to=opened_to,
    )
    return TradeList.model_validate(page_of(page))


@router.get("/api/v1/trades/positions", dependencies=[waits_for("trade_positions", "trade_marks")])
def positions(reader: Reader, queries: Queries, account_id: AccountFilter = None) -> list[PositionPublic]:
    """Open positions by symbol: held long and short, average entries, margin in use, unrealized P&L at the mark."""
    return [PositionPublic.model_validate(row) for row in queries.positions(whose(reader, account_id))]


@router.get("/api/v1/trades/pnl/daily", dependencies=[waits_for("trade_pnl")])
def pnl_by_day(
    reader: Reader, queries: Queries, account_id: AccountFilter = None, day_from: DayFrom = None, day_to: DayTo = None
) -> list[PnlDay]:
    """Realized P&L per UTC day (days with closes), oldest first."""
    rows = queries.pnl_by_day(whose(reader, account_id), day_from=day_from, day_to=day_to)
    return [PnlDay(day=date.fromisoformat(r["key"]), **{k: v for k, v in r.items() if k != "key"}) for r in rows]


@router.get("/api/v1/trades/pnl/symbols", dependencies=[waits_for("trade_pnl")])
def pnl_by_symbol(
    reader: Reader, queries: Queries, account_id: AccountFilter = None, day_from: DayFrom = None, day_to: DayTo = None
) -> list[PnlSymbol]:
    """Realized P&L per symbol (symbols with closes)."""
    rows = queries.pnl_by_symbol(whose(reader, account_id), day_from=day_from, day_to=day_to)
    return [PnlSymbol(symbol=r["key"], **{k: v for k, v in r.items() if k != "key"}) for r in rows]


@router.get("/api/v1/marks", dependencies=[waits_for("trade_marks")])
def marks(_: Reader, queries: Queries) -> list[MarkPublic]:
    """Every symbol's last mark price."""
    return [MarkPublic.model_validate(row) for row in queries.marks()]


@router.get("/api/v1/trades/{trade_id}", dependencies=[waits_for("trades")])
def get_trade(trade_id: UUID, reader: Reader, queries: Queries, response: Response) -> TradePublic:
    """One trade, yours (or anyone's, reading all); its version as ETag. Another's trade is not found."""
    row = queries.get(trade_id)
    if row is None or (row["account_id"] != reader.account_id and TRADES_READ_ALL not in reader.permissions):
        raise TradeNotFound(f"No trade with id {trade_id} (if you just opened it, pass min_position)")
    response.headers["ETag"] = f'"{row["version"]}"'
    return TradePublic.model_validate(row)
