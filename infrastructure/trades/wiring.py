"""Wiring of the Trades context: its application (with the plan limits it is given), and its read models
(trades, positions, realized P&L, marks) with the queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.shared.ports import Entitlements
from application.trades.application import TradesApplication
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from infrastructure.trades.queries import TradeQueries
from infrastructure.trades.tables import MARK_TABLES, PNL_TABLES, POSITION_TABLES, TRADE_TABLES
from infrastructure.trades.writer import SqlMarksView, SqlPnlView, SqlPositionsView, SqlTradesView
from projections.trades.marks import MarksProjection
from projections.trades.pnl import PnlProjection
from projections.trades.positions import PositionsProjection
from projections.trades.trades import TradesProjection


@dataclass
class Trades:
    """The Trades context, wired."""

    app: TradesApplication
    queries: TradeQueries
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {TradesApplication: self.app, TradeQueries: self.queries}

    def start(self, platform: Platform) -> None:
        """Nothing to bootstrap."""


def wire_trades(platform: Platform, *, entitlements: Entitlements) -> Trades:
    """``entitlements``: the plans' limits (the subscriptions read side), named by the composition root."""
    app = TradesApplication(entitlements, platform.env, shares_log_with=platform.log)
    platform.joins_log(app)
    followers = (
        Follower(TradesProjection(), SqlTradesView, TRADE_TABLES),
        Follower(PositionsProjection(), SqlPositionsView, POSITION_TABLES),
        Follower(PnlProjection(), SqlPnlView, PNL_TABLES),
        Follower(MarksProjection(), SqlMarksView, MARK_TABLES),
    )
    return Trades(app, TradeQueries(platform.query_engine), followers)
