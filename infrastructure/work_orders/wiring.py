"""Wiring of the Work orders context: its application (over the ports it needs), read models and uploads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.work_orders.application import WorkOrdersApplication
from application.work_orders.ports import AccountDirectory, Stock, TableReader
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from infrastructure.work_orders.queries import WorkOrderQueries
from infrastructure.work_orders.tables import DASHBOARD_TABLES, TIMELINE_TABLES, WORK_ORDER_TABLES
from infrastructure.work_orders.tabular import UploadedTables
from infrastructure.work_orders.writers import SqlDashboardView, SqlTimelineView, SqlWorkOrdersView
from projections.work_orders.dashboard import WorkshopDashboardProjection
from projections.work_orders.orders import WorkOrdersProjection
from projections.work_orders.timeline import WorkOrderTimelineProjection


@dataclass
class WorkOrders:
    """The Work orders context, wired."""

    app: WorkOrdersApplication
    queries: WorkOrderQueries
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {WorkOrdersApplication: self.app, WorkOrderQueries: self.queries}

    def start(self, platform: Platform) -> None:
        """Nothing to prepare."""


def wire_work_orders(
    platform: Platform, *, accounts: AccountDirectory, stock: Stock, tables: TableReader | None = None
) -> WorkOrders:
    app = WorkOrdersApplication(accounts, stock, tables or UploadedTables(), platform.env, shares_log_with=platform.log)
    platform.joins_log(app)
    followers = (
        Follower(WorkOrdersProjection(), SqlWorkOrdersView, WORK_ORDER_TABLES),
        Follower(WorkOrderTimelineProjection(), SqlTimelineView, TIMELINE_TABLES),
        Follower(WorkshopDashboardProjection(), SqlDashboardView, DASHBOARD_TABLES),
    )
    return WorkOrders(app, WorkOrderQueries(platform.query_engine), followers)
