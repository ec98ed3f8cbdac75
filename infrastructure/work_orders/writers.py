"""The work-order projections' writers: each gathers one batch's writes and flushes them in a few statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from infrastructure.shared.readstore import BatchView, Increments, PendingRows
from infrastructure.work_orders.tables import (
    work_order_materials,
    work_order_timeline,
    work_orders,
    workshop_counters,
    workshop_due,
    workshop_orders,
)


class SqlWorkOrdersView(BatchView):
    """The order rows and the materials each order consumed."""

    def __init__(self, conn: Connection) -> None:
        self._orders = PendingRows(work_orders, "id")
        self._materials = Increments(work_order_materials, ["order_id", "item_id"], "quantity")
        super().__init__(conn, self._orders, self._materials)

    def add_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._orders.add({"id": order_id, "version": version, "created_at": at, "updated_at": at, **fields})

    def update_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._orders.change(order_id, version=version, updated_at=at, **fields)

    def add_material(self, order_id: UUID, item_id: UUID, sku: str, quantity: Decimal) -> None:
        self._materials.add((order_id, item_id), quantity, sku=sku)


class SqlTimelineView(BatchView):
    """Every order's timeline entries."""

    def __init__(self, conn: Connection) -> None:
        self._entries = PendingRows(work_order_timeline, ("order_id", "version"))
        super().__init__(conn, self._entries)

    def add_entry(
        self, order_id: UUID, version: int, at: datetime, actor: str | None, event: str, details: dict[str, Any]
    ) -> None:
        row = {"order_id": order_id, "version": version, "at": at, "actor": actor, "event": event, "details": details}
        self._entries.add(row)


class SqlDashboardView(BatchView):
    """The dashboard's counters, and the facts of each order it needs to move them."""

    def __init__(self, conn: Connection) -> None:
        self._orders = PendingRows(workshop_orders, "order_id")
        self._stored: dict[UUID, tuple[str, date, datetime]] = {}
        self._counters = Increments(workshop_counters, ["name"], "value")
        self._due = Increments(workshop_due, ["due_date"], "open_orders")
        super().__init__(conn, self._orders, self._counters, self._due)

    def track_order(self, order_id: UUID, status: str, due_date: date, created_at: datetime) -> None:
        self._orders.add({"order_id": order_id, "status": status, "due_date": due_date, "created_at": created_at})

    def order_facts(self, order_id: UUID) -> tuple[str, date, datetime]:
        added = self._orders.added_row(order_id)
        if added is not None:
            return added["status"], added["due_date"], added["created_at"]
        if order_id not in self._stored:
            c = workshop_orders.c
            row = self.conn.execute(select(c.status, c.due_date, c.created_at).where(c.order_id == order_id)).one()
            self._stored[order_id] = (row.status, row.due_date, row.created_at)
        status, due_date, created_at = self._stored[order_id]
        return self._orders.changes(order_id).get("status", status), due_date, created_at

    def set_status(self, order_id: UUID, status: str) -> None:
        self._orders.change(order_id, status=status)

    def bump(self, counter: str, delta: int) -> None:
        self._counters.add((counter,), delta)

    def bump_due(self, due_date: date, delta: int) -> None:
        self._due.add((due_date,), delta)

    def flush(self) -> None:
        super().flush()
        self._stored.clear()
