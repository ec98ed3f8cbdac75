"""The workshop dashboard read model: counters folded from WorkOrder events.

A dashboard query reads a handful of counter rows instead of counting over the orders. To move
an order's counters the projection needs the order's status, due date and creation time; it keeps
them itself, in its own small table, so it depends on no other read model.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.work_orders.work_order import ACTIVE_STATUSES, WorkOrder, WorkOrderStatus

# Counter names of the dashboard.
INSPECTIONS = "inspections"
INSPECTIONS_PASSED = "inspections_passed"
CYCLES = "completed_cycles"
CYCLE_SECONDS = "cycle_seconds"


def status_counter(status: str) -> str:
    return f"status:{status}"


class DashboardView(Protocol):
    """What the dashboard projection needs from its store (implemented in infrastructure)."""

    def track_order(self, order_id: UUID, status: str, due_date: date, created_at: datetime) -> None: ...

    def order_facts(self, order_id: UUID) -> tuple[str, date, datetime]:
        """(status, due date, created at) of an order tracked earlier."""
        ...

    def set_status(self, order_id: UUID, status: str) -> None: ...

    def bump(self, counter: str, delta: int) -> None: ...

    def bump_due(self, due_date: date, delta: int) -> None:
        """Open orders due on ``due_date``: the overdue count is the sum over past dates."""
        ...


class WorkshopDashboardProjection(EventHandlers[DashboardView]):
    """Keeps the per-status, overdue, inspection and cycle-time counters of the workshop."""

    name = "workshop_dashboard"

    @handles(WorkOrder.Created)
    def created(self, e: WorkOrder.Created, view: DashboardView, meta: dict[str, Any]) -> None:
        view.track_order(e.originator_id, WorkOrderStatus.OPEN, e.due_date, e.timestamp)
        view.bump(status_counter(WorkOrderStatus.OPEN), 1)
        view.bump_due(e.due_date, 1)

    @handles(WorkOrder.WelderAssigned)
    def welder_assigned(self, e: WorkOrder.WelderAssigned, view: DashboardView, meta: dict[str, Any]) -> None:
        _move(e, view, e.status)

    @handles(WorkOrder.Started)
    def started(self, e: WorkOrder.Started, view: DashboardView, meta: dict[str, Any]) -> None:
        _move(e, view, WorkOrderStatus.IN_PROGRESS)

    @handles(WorkOrder.InspectionRecorded)
    def inspection_recorded(self, e: WorkOrder.InspectionRecorded, view: DashboardView, meta: dict[str, Any]) -> None:
        view.bump(INSPECTIONS, 1)
        if e.passed:
            view.bump(INSPECTIONS_PASSED, 1)
        _move(e, view, WorkOrderStatus.INSPECTION_PASSED if e.passed else WorkOrderStatus.INSPECTION_FAILED)

    @handles(WorkOrder.SentToRework)
    def sent_to_rework(self, e: WorkOrder.SentToRework, view: DashboardView, meta: dict[str, Any]) -> None:
        _move(e, view, WorkOrderStatus.REWORK)

    @handles(WorkOrder.Completed)
    def completed(self, e: WorkOrder.Completed, view: DashboardView, meta: dict[str, Any]) -> None:
        _, _, created_at = view.order_facts(e.originator_id)
        view.bump(CYCLES, 1)
        view.bump(CYCLE_SECONDS, round((e.timestamp - created_at).total_seconds()))
        _move(e, view, WorkOrderStatus.COMPLETED)

    @handles(WorkOrder.Cancelled)
    def cancelled(self, e: WorkOrder.Cancelled, view: DashboardView, meta: dict[str, Any]) -> None:
        _move(e, view, WorkOrderStatus.CANCELLED)


def _move(e: WorkOrder.Event, view: DashboardView, status: str) -> None:
    """Change an order's status, keeping the per-status and overdue counters in step."""
    old, due_date, _ = view.order_facts(e.originator_id)
    if old != status:
        view.bump(status_counter(old), -1)
        view.bump(status_counter(status), 1)
        view.set_status(e.originator_id, status)
    if old in ACTIVE_STATUSES and status not in ACTIVE_STATUSES:
        view.bump_due(due_date, -1)
