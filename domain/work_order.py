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

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.inventory import check_quantity

ORDER_NUMBER_SCOPE = "work_order_number"

OPEN = "open"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
INSPECTION_PASSED = "inspection_passed"
INSPECTION_FAILED = "inspection_failed"
REWORK = "rework"
COMPLETED = "completed"
CANCELLED = "cancelled"
STATUSES = (OPEN, ASSIGNED, IN_PROGRESS, INSPECTION_PASSED, INSPECTION_FAILED, REWORK, COMPLETED, CANCELLED)
ACTIVE_STATUSES = frozenset(STATUSES) - {COMPLETED, CANCELLED}

# Priorities in rising urgency; the rank orders them in lists.
PRIORITIES = ("low", "normal", "high", "urgent")
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,49}$")


class InvalidWorkOrder(DomainError):
    code = "invalid_work_order"
    title = "The work order is not valid"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"field": p.field, "message": p.message} for p in self.problems]}


class OrderNumberTaken(DomainError):
    code = "order_number_taken"
    title = "A work order with this number already exists"


class WorkOrderAlreadyCompleted(DomainError):
    code = "work_order_completed"
    title = "The work order is completed and accepts no further change"


class WorkOrderAlreadyCancelled(DomainError):
    code = "work_order_cancelled"
    title = "The work order is cancelled and accepts no further change"


class WorkOrderNotAssignable(DomainError):
    code = "work_order_not_assignable"
    title = "A welder can only be (re)assigned before the work starts or while it waits for rework"


class WelderAlreadyAssigned(DomainError):
    code = "welder_already_assigned"
    title = "This welder is already assigned to the work order"


class InvalidWelder(DomainError):
    code = "invalid_welder"
    title = "The welder must be an existing, active account with the operator role"


class WorkOrderNotStartable(DomainError):
    code = "work_order_not_startable"
    title = "Work starts only on an assigned order or one sent back to rework"


class NotAssignedWelder(DomainError):
    code = "not_assigned_welder"
    title = "Only the welder assigned to this work order may do this"


class WorkOrderNotInProgress(DomainError):
    code = "work_order_not_in_progress"
    title = "The work order is not in progress"


class InspectorIsWelder(DomainError):
    code = "inspector_is_welder"
    title = "The welder who did the work may not inspect it"


class WorkOrderNotReadyForCompletion(DomainError):
    code = "work_order_not_ready_for_completion"
    title = "A work order completes only after a passing inspection"


class ReworkNeedsFailedInspection(DomainError):
    code = "rework_needs_failed_inspection"
    title = "A work order goes back to rework only after a failed inspection"


class ReasonRequired(DomainError):
    code = "reason_required"
    title = "A reason is required"


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


@dataclass(frozen=True)
class NewWorkOrder:
    """What creating a work order needs; ``problems`` says what is wrong with it, field by field."""

    order_number: str
    client: str
    description: str
    machine: str
    due_date: date
    priority: str = "normal"

    def problems(self) -> list[FieldProblem]:
        found = []
        if not _ORDER_NUMBER.match(self.order_number.strip()):
            found.append(
                FieldProblem("order_number", "1-50 letters, digits or . _ / -, starting with a letter or digit")
            )
        for name, limit in (("client", 200), ("machine", 100), ("description", 2000)):
            value = getattr(self, name).strip()
            if not value:
                found.append(FieldProblem(name, "must not be empty"))
            elif len(value) > limit:
                found.append(FieldProblem(name, f"at most {limit} characters"))
        if self.priority not in PRIORITIES:
            found.append(FieldProblem("priority", f"one of {', '.join(PRIORITIES)}"))
        return found

    @property
    def number_key(self) -> str:
        return normalize_order_number(self.order_number)


def normalize_order_number(order_number: str) -> str:
    """The key under which an order number is unique: trimmed and upper-cased."""
    return order_number.strip().upper()


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
        self.status = OPEN
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
