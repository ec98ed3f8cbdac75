"""Queries on the inventory read model; never touches aggregates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypedDict, cast
from uuid import UUID

from sqlalchemy import Engine, func, or_, select

from infrastructure.inventory.tables import inventory_items, inventory_movements
from infrastructure.shared.readstore import Page, fetch_page, like_pattern, order_by


class ItemRow(TypedDict):
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


class MovementRow(TypedDict):
    item_id: UUID
    version: int
    at: datetime
    kind: str
    quantity: Decimal
    stock_after: Decimal
    work_order_id: UUID | None
    note: str | None
    actor: str | None


ITEM_SORTS = {
    "sku": inventory_items.c.sku_key,
    "name": inventory_items.c.name,
    "stock": inventory_items.c.stock,
    "updated_at": inventory_items.c.updated_at,
}

_ITEM_COLUMNS = [c for c in inventory_items.c if c.name != "sku_key"]


class InventoryQueries:
    """Reads the inventory read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, item_id: UUID) -> ItemRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_ITEM_COLUMNS).where(inventory_items.c.id == item_id)).mappings().first()
        return cast(ItemRow, dict(row)) if row is not None else None

    def search(
        self, *, limit: int, offset: int, sort: str, low_stock: bool | None = None, q: str | None = None
    ) -> Page[ItemRow]:
        conditions = []
        if low_stock is not None:
            conditions.append(inventory_items.c.low_stock == low_stock)
        if q:
            pattern = like_pattern(q)
            conditions.append(
                or_(
                    func.lower(inventory_items.c.sku_key).like(pattern, escape="\\"),
                    func.lower(inventory_items.c.name).like(pattern, escape="\\"),
                )
            )
        query = select(*_ITEM_COLUMNS).where(*conditions)
        return fetch_page(self.engine, query, order_by(sort, ITEM_SORTS, inventory_items.c.id), limit, offset, ItemRow)

    def movements(self, item_id: UUID, *, limit: int, offset: int) -> Page[MovementRow]:
        query = select(inventory_movements).where(inventory_movements.c.item_id == item_id)
        return fetch_page(self.engine, query, [inventory_movements.c.version.desc()], limit, offset, MovementRow)

    def low_stock(self, limit: int) -> list[ItemRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_ITEM_COLUMNS)
                .where(inventory_items.c.low_stock.is_(True))
                .order_by(inventory_items.c.sku_key)
                .limit(limit)
            ).mappings()
            return [cast(ItemRow, dict(r)) for r in rows]
