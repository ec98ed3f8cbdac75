"""Request and response models of the inventory routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.inventory.item import SKU_PATTERN
from domain.shared.quantity import MAX_QUANTITY, QUANTITY_PLACES
from interfaces.http.shared.schemas import MULTI_LINE, Page, Quantity, Reason, Strict

Delta = Annotated[
    Decimal,
    Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, max_digits=13, decimal_places=QUANTITY_PLACES, examples=["-1.5"]),
]

_ITEM_ID = "a61f0c3d-2e4b-4d7a-b8c9-0d1e2f3a4b5c"
_STOREKEEPER_ID = "c2bb2ab8-d7ab-44f9-8293-ac618ef3fecb"
_WELDER_ID = "3b9d2f4e-8a1c-4e7b-9f20-5c6d7e8f9a01"
# Quantities come back as strings with three places, as the read model keeps them.
ITEM_EXAMPLE: dict[str, Any] = {
    "id": _ITEM_ID,
    "sku": "ROD-E7018-3.2",
    "name": "E7018 welding rod, 3.2 mm",
    "unit": "kg",
    "reorder_level": "10.000",
    "stock": "21.000",
    "low_stock": False,
    "created_at": "2026-11-30T16:20:05Z",
    "updated_at": "2026-12-01T10:05:13Z",
    "version": 4,
}


class ItemRegister(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"sku": "ROD-E7018-3.2", "name": "E7018 welding rod, 3.2 mm", "unit": "kg", "reorder_level": "10"},
                {"sku": "GAS-ARCO2-82/18", "name": "Argon/CO2 82/18 shielding gas, 50 l cylinder", "unit": "cyl"},
            ]
        },
    )

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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"quantity": "25", "note": "Delivery note 4471 from Weldsupply"}]},
    )

    quantity: Quantity
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MULTI_LINE] = ""


class StockAdjustment(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"delta": "-1.5", "reason": "Stock count: 1.5 kg short"}]}
    )

    delta: Delta
    reason: Reason


class ItemPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ITEM_EXAMPLE]})

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
    """One change of an item's stock: received, consumed by a work order, or adjusted (signed quantity)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 4,
                    "at": "2026-12-01T10:05:13Z",
                    "kind": "consumed",
                    "quantity": "-2.500",
                    "stock_after": "21.000",
                    "work_order_id": "4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11",
                    "note": None,
                    "actor": _WELDER_ID,
                },
                {
                    "version": 2,
                    "at": "2026-11-30T16:31:47Z",
                    "kind": "received",
                    "quantity": "25.000",
                    "stock_after": "25.000",
                    "work_order_id": None,
                    "note": "Delivery note 4471 from Weldsupply",
                    "actor": _STOREKEEPER_ID,
                },
            ]
        }
    )

    version: int
    at: datetime
    kind: str
    quantity: Decimal
    stock_after: Decimal
    work_order_id: UUID | None
    note: str | None
    actor: str | None


MovementList = Page[Movement]
