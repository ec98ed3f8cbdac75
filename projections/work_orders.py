"""The work-order read models: the list and detail rows, each order's timeline, and the dashboard.

The dashboard's figures are kept as counters folded from the same events in the same batch,
so a dashboard query reads a handful of rows instead of counting over the list.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.follower import EventHandlers, handles
from domain.work_order import (
    ACTIVE_STATUSES,
    CANCELLED,
    COMPLETED,
    IN_PROGRESS,
    INSPECTION_FAILED,
    INSPECTION_PASSED,
    OPEN,
    PRIORITIES,
    REWORK,
    WorkOrder,
)

# Counter names of the dashboard.
INSPECTIONS = "inspections"
INSPECTIONS_PASSED = "inspections_passed"
CYCLES = "completed_cycles"
CYCLE_SECONDS = "cycle_seconds"


def status_counter(status: str) -> str:
    return f"status:{status}"


class WorkOrdersView(Protocol):
    """What the work-orders projection needs from its store (implemented in infrastructure)."""

    def add_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def order_facts(self, order_id: UUID) -> tuple[str, date, datetime]:
        """(status, due date, created at) of an order already in the view."""
        ...

    def add_timeline_entry(
        self, order_id: UUID, version: int, at: datetime, actor: str | None, event: str, details: dict[str, Any]
    ) -> None: ...

    def add_material(self, order_id: UUID, item_id: UUID, sku: str, quantity: Decimal) -> None: ...

    def bump(self, counter: str, delta: int) -> None: ...

    def bump_due(self, due_date: date, delta: int) -> None:
        """Open orders due on ``due_date``: the overdue count is the sum over past dates."""
        ...


class WorkOrdersProjection(EventHandlers[WorkOrdersView]):
    """Folds WorkOrder events into the list, detail, timeline and dashboard read models."""

    name = "work_orders"

    @handles(WorkOrder.Created)
    def created(self, e: WorkOrder.Created, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        view.add_order(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            order_number=e.order_number,
            order_number_key=e.order_number.upper(),
            client=e.client,
            client_key=e.client.lower(),
            description=e.description,
            machine=e.machine,
            due_date=e.due_date,
            priority=e.priority,
            priority_rank=PRIORITIES.index(e.priority),
            status=OPEN,
        )
        view.bump(status_counter(OPEN), 1)
        view.bump_due(e.due_date, 1)
        self._timeline(e, view, meta)

    @handles(WorkOrder.WelderAssigned)
    def welder_assigned(self, e: WorkOrder.WelderAssigned, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        self._move(e, view, e.status, welder_id=e.welder_id)
        self._timeline(e, view, meta)

    @handles(WorkOrder.Started)
    def started(self, e: WorkOrder.Started, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        self._move(e, view, IN_PROGRESS, started_at=e.timestamp)
        self._timeline(e, view, meta)

    @handles(WorkOrder.MaterialConsumed)
    def material_consumed(self, e: WorkOrder.MaterialConsumed, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        view.add_material(e.originator_id, e.item_id, e.sku, e.quantity)
        view.update_order(e.originator_id, e.originator_version, e.timestamp)
        self._timeline(e, view, meta)

    @handles(WorkOrder.InspectionRecorded)
    def inspection_recorded(self, e: WorkOrder.InspectionRecorded, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        view.bump(INSPECTIONS, 1)
        if e.passed:
            view.bump(INSPECTIONS_PASSED, 1)
        status = INSPECTION_PASSED if e.passed else INSPECTION_FAILED
        self._move(e, view, status, last_inspection_passed=e.passed, inspected_at=e.timestamp)
        self._timeline(e, view, meta)

    @handles(WorkOrder.SentToRework)
    def sent_to_rework(self, e: WorkOrder.SentToRework, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        self._move(e, view, REWORK)
        self._timeline(e, view, meta)

    @handles(WorkOrder.Completed)
    def completed(self, e: WorkOrder.Completed, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        _, _, created_at = view.order_facts(e.originator_id)
        view.bump(CYCLES, 1)
        view.bump(CYCLE_SECONDS, round((e.timestamp - created_at).total_seconds()))
        self._move(e, view, COMPLETED, completed_at=e.timestamp)
        self._timeline(e, view, meta)

    @handles(WorkOrder.Cancelled)
    def cancelled(self, e: WorkOrder.Cancelled, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        self._move(e, view, CANCELLED, cancelled_at=e.timestamp, cancel_reason=e.reason)
        self._timeline(e, view, meta)

    @staticmethod
    def _move(e: Any, view: WorkOrdersView, status: str, **fields: Any) -> None:
        """Change an order's status, keeping the per-status and overdue counters in step."""
        old, due_date, _ = view.order_facts(e.originator_id)
        if old != status:
            view.bump(status_counter(old), -1)
            view.bump(status_counter(status), 1)
        if old in ACTIVE_STATUSES and status not in ACTIVE_STATUSES:
            view.bump_due(due_date, -1)
        view.update_order(e.originator_id, e.originator_version, e.timestamp, status=status, **fields)

    @staticmethod
    def _timeline(e: Any, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        details = {
            key: _plain(value)
            for key, value in vars(e).items()
            if key not in {"originator_id", "originator_version", "timestamp", "originator_topic"}
        }
        view.add_timeline_entry(
            e.originator_id, e.originator_version, e.timestamp, meta.get("actor"), type(e).__name__, details
        )


def _plain(value: Any) -> Any:
    """A JSON-friendly form of an event field."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value
