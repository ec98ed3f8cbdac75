"""Queries on the work-order read models; never touches aggregates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, cast
from uuid import UUID

from sqlalchemy import Engine, func, select

from domain.work_orders.work_order import ACTIVE_STATUSES, STATUSES
from infrastructure.shared.readstore import Page, fetch_page, like_pattern, order_by
from infrastructure.work_orders.tables import (
    work_order_materials,
    work_order_timeline,
    work_orders,
    workshop_counters,
    workshop_due,
)
from projections.work_orders.dashboard import CYCLE_SECONDS, CYCLES, INSPECTIONS, INSPECTIONS_PASSED, status_counter


class WorkOrderRow(TypedDict):
    id: UUID
    order_number: str
    client: str
    description: str
    machine: str
    due_date: date
    priority: str
    status: str
    welder_id: UUID | None
    last_inspection_passed: bool | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    inspected_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    version: int


class MaterialRow(TypedDict):
    item_id: UUID
    sku: str
    quantity: Decimal


class TimelineRow(TypedDict):
    order_id: UUID
    version: int
    at: datetime
    actor: str | None
    event: str
    details: dict[str, Any]


class WorkOrderDetailRow(WorkOrderRow):
    materials: list[MaterialRow]
    timeline: list[TimelineRow]


class DashboardFigures(TypedDict):
    by_status: dict[str, int]
    overdue: int
    inspections: int
    inspection_pass_rate: float | None
    average_cycle_hours: float | None
    completed_orders: int


WORK_ORDER_SORTS = {
    "due_date": work_orders.c.due_date,
    "priority": work_orders.c.priority_rank,
    "created_at": work_orders.c.created_at,
    "order_number": work_orders.c.order_number_key,
}

_PUBLIC_COLUMNS = [c for c in work_orders.c if c.name not in {"order_number_key", "client_key", "priority_rank"}]


class WorkOrderQueries:
    """Reads the work-order read models."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, order_id: UUID) -> WorkOrderDetailRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_PUBLIC_COLUMNS).where(work_orders.c.id == order_id)).mappings().first()
            if row is None:
                return None
            materials = [
                cast(MaterialRow, dict(m))
                for m in conn.execute(
                    select(work_order_materials.c.item_id, work_order_materials.c.sku, work_order_materials.c.quantity)
                    .where(work_order_materials.c.order_id == order_id)
                    .order_by(work_order_materials.c.sku)
                ).mappings()
            ]
            timeline = [
                cast(TimelineRow, dict(t))
                for t in conn.execute(
                    select(work_order_timeline)
                    .where(work_order_timeline.c.order_id == order_id)
                    .order_by(work_order_timeline.c.version)
                ).mappings()
            ]
        return cast(WorkOrderDetailRow, {**row, "materials": materials, "timeline": timeline})

    def search(
        self,
        *,
        limit: int,
        offset: int,
        sort: str,
        today: date,
        status: str | None = None,
        client: str | None = None,
        welder_id: UUID | None = None,
        machine: str | None = None,
        due_from: date | None = None,
        due_to: date | None = None,
        overdue: bool | None = None,
    ) -> Page[WorkOrderRow]:
        c = work_orders.c
        conditions: list[Any] = []
        if status:
            conditions.append(c.status == status)
        if client:
            conditions.append(c.client_key.like(like_pattern(client), escape="\\"))
        if welder_id:
            conditions.append(c.welder_id == welder_id)
        if machine:
            conditions.append(c.machine == machine)
        if due_from:
            conditions.append(c.due_date >= due_from)
        if due_to:
            conditions.append(c.due_date <= due_to)
        if overdue is True:
            conditions += [c.due_date < today, c.status.in_(sorted(ACTIVE_STATUSES))]
        elif overdue is False:
            conditions.append((c.due_date >= today) | c.status.not_in(sorted(ACTIVE_STATUSES)))
        query = select(*_PUBLIC_COLUMNS).where(*conditions)
        return fetch_page(self.engine, query, order_by(sort, WORK_ORDER_SORTS, c.id), limit, offset, WorkOrderRow)

    def dashboard(self, today: date) -> DashboardFigures:
        """The workshop at a glance, read from counters the projections keep: no scan of orders or events."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(workshop_counters.c.name, workshop_counters.c.value))
            counters: dict[str, int] = {name: value for name, value in rows}
            overdue = conn.execute(
                select(func.coalesce(func.sum(workshop_due.c.open_orders), 0)).where(workshop_due.c.due_date < today)
            ).scalar_one()
        inspections, passed = counters.get(INSPECTIONS, 0), counters.get(INSPECTIONS_PASSED, 0)
        cycles = counters.get(CYCLES, 0)
        return {
            "by_status": {status: counters.get(status_counter(status), 0) for status in STATUSES},
            "overdue": int(overdue),
            "inspections": inspections,
            "inspection_pass_rate": round(passed / inspections, 4) if inspections else None,
            "average_cycle_hours": round(counters.get(CYCLE_SECONDS, 0) / cycles / 3600, 2) if cycles else None,
            "completed_orders": cycles,
        }
