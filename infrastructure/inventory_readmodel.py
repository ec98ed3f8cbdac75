"""SQL for the inventory read model: stock levels and movements, the writer and the reader."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    Numeric,
    String,
    Table,
    func,
    or_,
    select,
)
from sqlalchemy import Uuid as SqlUuid

from infrastructure.readstore import (
    Page,
    PendingRows,
    UtcDateTime,
    fetch_page,
    like_pattern,
    metadata,
    order_by,
    upsert,
)

QUANTITY = Numeric(18, 3)

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


class SqlInventoryView:
    """The inventory projection's writer, bound to the batch's transaction.

    Item rows and changes and the movements are held for the batch and written by ``flush``
    in a few batched statements; an item's stored levels are read at most once per batch.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._items = PendingRows(inventory_items, "id")
        self._stored_levels: dict[UUID, tuple[Decimal, Decimal]] = {}
        self._movements: list[dict[str, Any]] = []

    def add_item(self, item_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._items.add({"id": item_id, "version": version, "created_at": at, "updated_at": at, **fields})

    def levels(self, item_id: UUID) -> tuple[Decimal, Decimal]:
        added = self._items.added_row(item_id)
        if added is not None:
            return added["stock"], added["reorder_level"]
        if item_id not in self._stored_levels:
            row = self.conn.execute(
                select(inventory_items.c.stock, inventory_items.c.reorder_level).where(inventory_items.c.id == item_id)
            ).one()
            self._stored_levels[item_id] = (Decimal(row.stock), Decimal(row.reorder_level))
        stock, reorder_level = self._stored_levels[item_id]
        return self._items.changes(item_id).get("stock", stock), reorder_level

    def update_item(self, item_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._items.change(item_id, version=version, updated_at=at, **fields)

    def add_movement(self, item_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._movements.append({"item_id": item_id, "version": version, "at": at, **fields})

    def flush(self) -> None:
        self._items.flush(self.conn)
        upsert(self.conn, inventory_movements, self._movements, ["item_id", "version"])
        self._movements.clear()
        self._stored_levels.clear()


ITEM_SORTS = {
    "sku": inventory_items.c.sku_key,
    "name": inventory_items.c.name,
    "stock": inventory_items.c.stock,
    "updated_at": inventory_items.c.updated_at,
}

_ITEM_COLUMNS = [c for c in inventory_items.c if c.name != "sku_key"]


class InventoryQueries:
    """Reads the inventory read model; never touches aggregates."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, item_id: UUID) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_ITEM_COLUMNS).where(inventory_items.c.id == item_id)).mappings().first()
        return dict(row) if row is not None else None

    def search(
        self, *, limit: int, offset: int, sort: str, low_stock: bool | None = None, q: str | None = None
    ) -> Page:
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
        return fetch_page(self.engine, query, order_by(sort, ITEM_SORTS, inventory_items.c.id), limit, offset)

    def movements(self, item_id: UUID, *, limit: int, offset: int) -> Page:
        query = select(inventory_movements).where(inventory_movements.c.item_id == item_id)
        return fetch_page(self.engine, query, [inventory_movements.c.version.desc()], limit, offset)

    def low_stock(self, limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_ITEM_COLUMNS)
                .where(inventory_items.c.low_stock.is_(True))
                .order_by(inventory_items.c.sku_key)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]
