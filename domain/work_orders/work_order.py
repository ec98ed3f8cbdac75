"""The WorkOrder aggregate: one welding job, from creation to completion or cancellation.

Invariants:
- the order number is unique across the workshop (claimed through a ``UniqueKey`` in the same save);
- status moves only along: open → assigned → in_progress → inspection_passed → completed,
  with inspection_failed → rework → in_progress for rework, and any open status → cancelled;
- only the assigned welder starts the work and consumes materials, and only while it is in progress;
- an inspection is recorded by someone other than the assigned welder;
- an order completes only after its latest inspection passed;
- a completed or cancelled order accepts no further command;
- materials consumed only ever grow, by positive quantities.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.shared.quantity import check_quantity
from domain.shared.topics import moved
from domain.work_orders.errors import (
    InspectorIsWelder,
    InvalidWorkOrder,
    NotAssignedWelder,
    ReasonRequired,
    ReworkNeedsFailedInspection,
    WelderAlreadyAssigned,
    WorkOrderAlreadyCancelled,
    WorkOrderAlreadyCompleted,
    WorkOrderNotAssignable,
    WorkOrderNotInProgress,
    WorkOrderNotReadyForCompletion,
    WorkOrderNotStartable,
)
from domain.work_orders.new_order import NewWorkOrder

ORDER_NUMBER_SCOPE = "work_order_number"


class WorkOrderStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    INSPECTION_PASSED = "inspection_passed"
    INSPECTION_FAILED = "inspection_failed"
    REWORK = "rework"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN, ASSIGNED, IN_PROGRESS = WorkOrderStatus.OPEN, WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS
INSPECTION_PASSED, INSPECTION_FAILED = WorkOrderStatus.INSPECTION_PASSED, WorkOrderStatus.INSPECTION_FAILED
REWORK, COMPLETED, CANCELLED = WorkOrderStatus.REWORK, WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED
STATUSES = tuple(WorkOrderStatus)
ACTIVE_STATUSES = frozenset(STATUSES) - {COMPLETED, CANCELLED}


class WorkOrder(Aggregate):
    """A welding job for a client's machine, worked by one welder and signed off by an inspection."""

    class Created(Aggregate.Created):
        order_number: str
        client: str
        description: str
        machine: str
        due_date: date
        priority: str

    class WelderAssigned(Aggregate.Event):
        welder_id: UUID
        status: str

        def apply(self, order: WorkOrder) -> None:
            order.welder_id = self.welder_id
            order.status = self.status

    class Started(Aggregate.Event):
        welder_id: UUID

        def apply(self, order: WorkOrder) -> None:
            order.status = IN_PROGRESS

    class MaterialConsumed(Aggregate.Event):
        item_id: UUID
        sku: str
        quantity: Decimal

        def apply(self, order: WorkOrder) -> None:
            key = str(self.item_id)
            order.materials[key] = order.materials.get(key, Decimal(0)) + self.quantity

    class InspectionRecorded(Aggregate.Event):
        inspector_id: UUID
        passed: bool
        notes: str

        def apply(self, order: WorkOrder) -> None:
            order.inspections += 1
            order.status = INSPECTION_PASSED if self.passed else INSPECTION_FAILED

    class SentToRework(Aggregate.Event):
        reason: str

        def apply(self, order: WorkOrder) -> None:
            order.status = REWORK

    class Completed(Aggregate.Event):
        def apply(self, order: WorkOrder) -> None:
            order.status = COMPLETED
            order.completed_at = self.timestamp

    class Cancelled(Aggregate.Event):
        reason: str

        def apply(self, order: WorkOrder) -> None:
            order.status = CANCELLED
            order.cancel_reason = self.reason

    def __init__(
        self, order_number: str, client: str, description: str, machine: str, due_date: date, priority: str
    ) -> None:
        self.order_number = order_number
        self.client = client
        self.description = description
        self.machine = machine
        self.due_date = due_date
        self.priority = priority
        self.status: str = OPEN
        self.welder_id: UUID | None = None
        self.materials: dict[str, Decimal] = {}
        self.inspections = 0
        self.completed_at: datetime | None = None
        self.cancel_reason: str | None = None

    @classmethod
    def create(cls, *, order_id: UUID, new: NewWorkOrder, now: datetime) -> WorkOrder:
        problems = new.problems()
        if problems:
            raise InvalidWorkOrder(problems)
        return cls._create(
            cls.Created,
            id=order_id,
            timestamp=now,
            order_number=new.order_number.strip(),
            client=new.client.strip(),
            description=new.description.strip(),
            machine=new.machine.strip(),
            due_date=new.due_date,
            priority=new.priority,
        )

    def assign_welder(self, *, welder_id: UUID, now: datetime) -> None:
        self._ensure_open()
        if self.status not in (OPEN, ASSIGNED, REWORK):
            raise WorkOrderNotAssignable(f"The work order is {self.status}")
        if self.welder_id == welder_id:
            raise WelderAlreadyAssigned()
        # Reassigning keeps an order waiting for rework where it is; a new order becomes assigned.
        status = ASSIGNED if self.status == OPEN else self.status
        self.trigger_event(self.WelderAssigned, timestamp=now, welder_id=welder_id, status=status)

    def start(self, *, welder_id: UUID, now: datetime) -> None:
        self._ensure_open()
        if self.status not in (ASSIGNED, REWORK) or self.welder_id is None:
            raise WorkOrderNotStartable(f"The work order is {self.status}")
        self._ensure_welder(welder_id)
        self.trigger_event(self.Started, timestamp=now, welder_id=welder_id)

    def consume_material(self, *, welder_id: UUID, item_id: UUID, sku: str, quantity: Decimal, now: datetime) -> None:
        self._ensure_in_progress()
        self._ensure_welder(welder_id)
        check_quantity(quantity)
        self.trigger_event(self.MaterialConsumed, timestamp=now, item_id=item_id, sku=sku, quantity=quantity)

    def record_inspection(self, *, inspector_id: UUID, passed: bool, notes: str, now: datetime) -> None:
        self._ensure_in_progress()
        if inspector_id == self.welder_id:
            raise InspectorIsWelder()
        self.trigger_event(
            self.InspectionRecorded, timestamp=now, inspector_id=inspector_id, passed=passed, notes=notes.strip()
        )

    def send_to_rework(self, *, reason: str, now: datetime) -> None:
        self._ensure_open()
        if self.status != INSPECTION_FAILED:
            raise ReworkNeedsFailedInspection(f"The work order is {self.status}")
        self.trigger_event(self.SentToRework, timestamp=now, reason=_reason(reason))

    def complete(self, *, now: datetime) -> None:
        self._ensure_open()
        if self.status != INSPECTION_PASSED:
            raise WorkOrderNotReadyForCompletion(f"The work order is {self.status}")
        self.trigger_event(self.Completed, timestamp=now)

    def cancel(self, *, reason: str, now: datetime) -> None:
        self._ensure_open()
        self.trigger_event(self.Cancelled, timestamp=now, reason=_reason(reason))

    def _ensure_open(self) -> None:
        if self.status == COMPLETED:
            raise WorkOrderAlreadyCompleted()
        if self.status == CANCELLED:
            raise WorkOrderAlreadyCancelled()

    def _ensure_in_progress(self) -> None:
        self._ensure_open()
        if self.status != IN_PROGRESS:
            raise WorkOrderNotInProgress(f"The work order is {self.status}")

    def _ensure_welder(self, welder_id: UUID) -> None:
        if self.welder_id != welder_id:
            raise NotAssignedWelder()


def _reason(reason: str) -> str:
    if not reason.strip():
        raise ReasonRequired()
    return reason.strip()


moved("domain.work_order", WorkOrder)
