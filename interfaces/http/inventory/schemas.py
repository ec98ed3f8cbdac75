"""Request and response models of the inventory routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from domain.inventory.item import SKU_PATTERN
from domain.shared.quantity import MAX_QUANTITY, QUANTITY_PLACES
from interfaces.http.shared.schemas import Page, Quantity, Reason, Strict

Delta = Annotated[
    Decimal,
    Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, max_digits=13, decimal_places=QUANTITY_PLACES, examples=["-1.5"]),
]


class ItemRegister(Strict):
    sku: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        Field(json_schema_extra={"pattern": SKU_PATTERN}),  # documented; checked by the domain
    ]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    reorder_level: Annotated[Decimal, Field(ge=0, le=MAX_QUANTITY, max_digits=13, decimal_places=QUANTITY_PLACES)] = (
        Decimal(0)
    )


class StockReceipt(Strict):
    quantity: Quantity
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class StockAdjustment(Strict):
    delta: Delta
    reason: Reason


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


ItemList = Page[ItemPublic]


class Movement(BaseModel):
    version: int
    at: datetime
    kind: str
    quantity: Decimal
    stock_after: Decimal
    work_order_id: UUID | None
    note: str | None
    actor: str | None


MovementList = Page[Movement]
