"""The Work orders context's named errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.shared.errors import Category, DomainError


@dataclass(frozen=True)
class FieldProblem:
    """One field of a new work order, and what is wrong with it."""

    field: str
    message: str


class InvalidWorkOrder(DomainError):
    code = "invalid_work_order"
    title = "The work order is not valid"
    category = Category.INVALID

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
    category = Category.INVALID


class WorkOrderNotStartable(DomainError):
    code = "work_order_not_startable"
    title = "Work starts only on an assigned order or one sent back to rework"


class NotAssignedWelder(DomainError):
    code = "not_assigned_welder"
    title = "Only the welder assigned to this work order may do this"
    category = Category.FORBIDDEN


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
    category = Category.INVALID
