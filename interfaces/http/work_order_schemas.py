"""Request and response models of the work-orders and inventory routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from domain.work_order import PRIORITIES, STATUSES, NewWorkOrder
from interfaces.http.schemas import Strict

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal[
    "open", "assigned", "in_progress", "inspection_passed", "inspection_failed", "rework", "completed", "cancelled"
]
assert set(Priority.__args__) == set(PRIORITIES) and set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
# Quantities travel as JSON numbers or strings; decimals keep them exact.
Quantity = Annotated[Decimal, Field(gt=0, max_digits=13, decimal_places=3, examples=["2.5"])]
Delta = Annotated[Decimal, Field(max_digits=13, decimal_places=3, examples=["-1.5"])]


class WorkOrderCreate(Strict):
    order_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    client: Text
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    machine: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    due_date: date
    priority: Priority = "normal"

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


class ReasonBody(Strict):
    reason: Reason


class ItemRegister(Strict):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    name: Text
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    reorder_level: Annotated[Decimal, Field(ge=0, max_digits=13, decimal_places=3)] = Decimal(0)


class StockReceipt(Strict):
    quantity: Quantity
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class StockAdjustment(Strict):
    delta: Delta
    reason: Reason


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
    status: Status
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


class WorkOrderList(BaseModel):
    items: list[WorkOrderPublic]
    total: int
    limit: int
    offset: int
    has_more: bool


class ItemPublic(BaseModel):
    id: UUID
    sku: str
    name: str
    unit: str
    reorder_level: Decimal
    stock: Decimal
    low_stock: bool
    created_at: datetime
    updated_at: datetime
    version: int


class ItemList(BaseModel):
    items: list[ItemPublic]
    total: int
    limit: int
    offset: int
    has_more: bool


class Movement(BaseModel):
    version: int
    at: datetime
    kind: str
    quantity: Decimal
    stock_after: Decimal
    work_order_id: UUID | None
    note: str | None
    actor: str | None


class MovementList(BaseModel):
    items: list[Movement]
    total: int
    limit: int
    offset: int
    has_more: bool


class Dashboard(BaseModel):
    by_status: dict[str, int]
    overdue: int
    inspections: int
    inspection_pass_rate: float | None = Field(description="Passed inspections / all inspections")
    average_cycle_hours: float | None = Field(description="Created to completed, over completed orders")
    completed_orders: int
    low_stock: list[ItemPublic]
