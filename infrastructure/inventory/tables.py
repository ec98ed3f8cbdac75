"""The inventory read model's tables: each item's stock level, and every movement of stock."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table
from sqlalchemy import Uuid as SqlUuid

from infrastructure.shared.readstore import QUANTITY, UtcDateTime, metadata

inventory_items = Table(
    "rm_inventory_items",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("sku_key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("reorder_level", QUANTITY, nullable=False),
    Column("stock", QUANTITY, nullable=False),
    Column("low_stock", Boolean, nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

inventory_movements = Table(
    "rm_inventory_movements",
    metadata,
    Column("item_id", SqlUuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("quantity", QUANTITY, nullable=False),
    Column("stock_after", QUANTITY, nullable=False),
    Column("work_order_id", SqlUuid, index=True),
    Column("note", String(500)),
    Column("actor", String(64)),
)

INVENTORY_TABLES = (inventory_movements, inventory_items)
