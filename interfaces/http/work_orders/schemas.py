"""Request and response models of the work-order routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.work_orders.new_order import LIMITS, ORDER_NUMBER_PATTERN, NewWorkOrder, Priority
from domain.work_orders.work_order import WorkOrderStatus
from interfaces.http.inventory.schemas import ITEM_EXAMPLE, ItemPublic
from interfaces.http.shared.schemas import MULTI_LINE, Page, Quantity, Strict

# The examples' ids: one order, created by a manager and worked by one welder with one item.
_ORDER_ID = "4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11"
_WELDER_ID = "3b9d2f4e-8a1c-4e7b-9f20-5c6d7e8f9a01"
_MANAGER_ID = "c2bb2ab8-d7ab-44f9-8293-ac618ef3fecb"
_ITEM_ID = ITEM_EXAMPLE["id"]
_ORDER: dict[str, Any] = {
    "order_number": "WO-1001",
    "client": "Acme Steel",
    "description": "Weld the cracked bracket of the press frame",
    "machine": "press-7",
    "due_date": "2026-12-15",
    "priority": "high",
}
_WORK_ORDER: dict[str, Any] = {
    "id": _ORDER_ID,
    **_ORDER,
    "status": "in_progress",
    "welder_id": _WELDER_ID,
    "last_inspection_passed": None,
    "created_at": "2026-12-01T08:12:40Z",
    "updated_at": "2026-12-01T10:05:13Z",
    "started_at": "2026-12-01T09:41:02Z",
    "inspected_at": None,
    "completed_at": None,
    "cancelled_at": None,
    "cancel_reason": None,
    "version": 4,
}
_MATERIAL: dict[str, Any] = {"item_id": _ITEM_ID, "sku": ITEM_EXAMPLE["sku"], "quantity": "2.500"}
_TIMELINE: list[Any] = [
    {"version": 1, "at": "2026-12-01T08:12:40Z", "actor": _MANAGER_ID, "event": "Created", "details": _ORDER},
    {
        "version": 2,
        "at": "2026-12-01T08:15:09Z",
        "actor": _MANAGER_ID,
        "event": "WelderAssigned",
        "details": {"welder_id": _WELDER_ID, "status": "assigned"},
    },
    {
        "version": 3,
        "at": "2026-12-01T09:41:02Z",
        "actor": _WELDER_ID,
        "event": "Started",
        "details": {"welder_id": _WELDER_ID},
    },
    {
        "version": 4,
        "at": "2026-12-01T10:05:13Z",
        "actor": _WELDER_ID,
        "event": "MaterialConsumed",
        "details": _MATERIAL,
    },
]


class WorkOrderCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _ORDER,
                {
                    "order_number": "2026/0417-B",
                    "client": "Norte Metalworks",
                    "description": "Hard-face the worn bucket teeth",
                    "machine": "excavator-2",
                    "due_date": "2027-01-08",
                },
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
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["description"]), MULTI_LINE
    ]
    machine: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["machine"])]
    due_date: date
    priority: Priority = Priority.NORMAL

    def to_domain(self) -> NewWorkOrder:
        return NewWorkOrder(**self.model_dump())


class AssignWelder(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"welder_id": _WELDER_ID}]})

    welder_id: UUID


class ConsumeMaterial(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"item_id": _ITEM_ID, "quantity": "2.5"}]}
    )

    item_id: UUID
    quantity: Quantity


class RecordInspection(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"passed": True, "notes": "Full penetration, no porosity; dye penetrant test clean"},
                {"passed": False, "notes": "Undercut along the left toe of the fillet weld"},
            ]
        },
    )

    passed: bool
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), MULTI_LINE] = ""


class ImportAccepted(BaseModel):
    """A bulk import's answer: how many orders, their ids in file order, and the log position."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "imported": 2,
                    "ids": [_ORDER_ID, "8e3b1d5a-6c2f-4a90-b7d4-1e5f9c0a2b63"],
                    "position": 118,
                }
            ]
        }
    )

    imported: int
    ids: list[UUID]
    position: int


class WorkOrderPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_WORK_ORDER]})

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
    """How much of an item the order has consumed in all."""

    model_config = ConfigDict(json_schema_extra={"examples": [_MATERIAL]})

    item_id: UUID
    sku: str
    quantity: Decimal


class TimelineEntry(BaseModel):
    """One event of the order: its version, when, who, the event's name and its fields."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TIMELINE[3]]})

    version: int
    at: datetime
    actor: str | None
    event: str
    details: dict[str, Any]


class WorkOrderDetail(WorkOrderPublic):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_WORK_ORDER, "materials": [_MATERIAL], "timeline": _TIMELINE}]}
    )

    materials: list[Material]
    timeline: list[TimelineEntry]


WorkOrderList = Page[WorkOrderPublic]


class Dashboard(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by_status": {
                        "open": 4,
                        "assigned": 2,
                        "in_progress": 3,
                        "inspection_passed": 1,
                        "inspection_failed": 1,
                        "rework": 0,
                        "completed": 12,
                        "cancelled": 1,
                    },
                    "overdue": 2,
                    "inspections": 16,
                    "inspection_pass_rate": 0.875,
                    "average_cycle_hours": 31.4,
                    "completed_orders": 12,
                    "low_stock": [{**ITEM_EXAMPLE, "stock": "7.750", "low_stock": True}],
                }
            ]
        }
    )

    by_status: dict[str, int]
    overdue: int
    inspections: int
    inspection_pass_rate: float | None = Field(description="Passed inspections / all inspections")
    average_cycle_hours: float | None = Field(description="Created to completed, over completed orders")
    completed_orders: int
    low_stock: list[ItemPublic]
