"""The work-orders read model: one row per order (the list and the detail) and the materials it consumed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.work_orders.new_order import Priority, normalize_order_number
from domain.work_orders.work_order import WorkOrder, WorkOrderStatus


class WorkOrdersView(Protocol):
    """What the work-orders projection needs from its store (implemented in infrastructure)."""

    def add_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def add_material(self, order_id: UUID, item_id: UUID, sku: str, quantity: Decimal) -> None: ...


class WorkOrdersProjection(EventHandlers[WorkOrdersView]):
    """Folds WorkOrder events into the order rows and their materials."""

    name = "work_orders"

    @handles(WorkOrder.Created)
    def created(self, e: WorkOrder.Created, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        view.add_order(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            order_number=e.order_number,
            order_number_key=normalize_order_number(e.order_number),
            client=e.client,
            client_key=e.client.lower(),
            description=e.description,
            machine=e.machine,
            due_date=e.due_date,
            priority=e.priority,
            priority_rank=Priority(e.priority).rank,
            status=WorkOrderStatus.OPEN,
        )

    @handles(WorkOrder.WelderAssigned)
    def welder_assigned(self, e: WorkOrder.WelderAssigned, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        _update(e, view, status=e.status, welder_id=e.welder_id)

    @handles(WorkOrder.Started)
    def started(self, e: WorkOrder.Started, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        _update(e, view, status=WorkOrderStatus.IN_PROGRESS, started_at=e.timestamp)

    @handles(WorkOrder.MaterialConsumed)
    def material_consumed(self, e: WorkOrder.MaterialConsumed, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        view.add_material(e.originator_id, e.item_id, e.sku, e.quantity)
        _update(e, view)

    @handles(WorkOrder.InspectionRecorded)
    def inspection_recorded(self, e: WorkOrder.InspectionRecorded, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        status = WorkOrderStatus.INSPECTION_PASSED if e.passed else WorkOrderStatus.INSPECTION_FAILED
        _update(e, view, status=status, last_inspection_passed=e.passed, inspected_at=e.timestamp)

    @handles(WorkOrder.SentToRework)
    def sent_to_rework(self, e: WorkOrder.SentToRework, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        _update(e, view, status=WorkOrderStatus.REWORK)

    @handles(WorkOrder.Completed)
    def completed(self, e: WorkOrder.Completed, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        _update(e, view, status=WorkOrderStatus.COMPLETED, completed_at=e.timestamp)

    @handles(WorkOrder.Cancelled)
    def cancelled(self, e: WorkOrder.Cancelled, view: WorkOrdersView, meta: dict[str, Any]) -> None:
        _update(e, view, status=WorkOrderStatus.CANCELLED, cancelled_at=e.timestamp, cancel_reason=e.reason)


def _update(e: WorkOrder.Event, view: WorkOrdersView, **fields: Any) -> None:
    view.update_order(e.originator_id, e.originator_version, e.timestamp, **fields)
