"""Request and response models of the work-order routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.work_orders.new_order import LIMITS, ORDER_NUMBER_PATTERN, NewWorkOrder, Priority
from domain.work_orders.work_order import WorkOrderStatus
from interfaces.http.inventory.schemas import ItemPublic
from interfaces.http.shared.schemas import Page, Quantity, Strict


class WorkOrderCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_number": "WO-1001",
                    "client": "Acme Steel",
                    "description": "Weld the cracked bracket of the press frame",
                    "machine": "press-7",
                    "due_date": "2026-12-15",
                    "priority": "high",
                }
            ]
        },
    )

    order_number: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["order_number"]),
        # Documented here, checked by the domain with every other field (422 invalid_work_order, all fields at once).
        Field(json_schema_extra={"pattern": ORDER_NUMBER_PATTERN}),
    ]
    client: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["client"])]
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["description"])
    ]
    machine: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["machine"])]
    due_date: date
    priority: Priority = Priority.NORMAL

    def to_domain(self) -> NewWorkOrder:
        return NewWorkOrder(**self.model_dump())


class AssignWelder(Strict):
    welder_id: UUID


class ConsumeMaterial(Strict):
    item_id: UUID
    quantity: Quantity


class RecordInspection(Strict):
    passed: bool
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class ImportAccepted(BaseModel):
    """A bulk import's answer: how many orders, their ids in file order, and the log position."""

    imported: int
    ids: list[UUID]
    position: int


class WorkOrderPublic(BaseModel):
    id: UUID
    order_number: str
    client: str
    description: str
    machine: str
    due_date: date
    priority: Priority
    status: WorkOrderStatus
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


class Material(BaseModel):
    item_id: UUID
    sku: str
    quantity: Decimal


class TimelineEntry(BaseModel):
    version: int
    at: datetime
    actor: str | None
    event: str
    details: dict[str, Any]


class WorkOrderDetail(WorkOrderPublic):
    materials: list[Material]
    timeline: list[TimelineEntry]


WorkOrderList = Page[WorkOrderPublic]


class Dashboard(BaseModel):
    by_status: dict[str, int]
    overdue: int
    inspections: int
    inspection_pass_rate: float | None = Field(description="Passed inspections / all inspections")
    average_cycle_hours: float | None = Field(description="Created to completed, over completed orders")
    completed_orders: int
    low_stock: list[ItemPublic]
