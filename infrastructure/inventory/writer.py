"""The inventory projection's writer: one batch's stock levels and movements, in a few statements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from infrastructure.inventory.tables import inventory_items, inventory_movements
from infrastructure.shared.readstore import BatchView, PendingRows


class SqlInventoryView(BatchView):
    """The inventory projection's writer, bound to the batch's transaction.

    Item rows and changes and the movements are held for the batch and written by ``flush``
    in a few batched statements; an item's stored levels are read at most once per batch.
    """

    def __init__(self, conn: Connection) -> None:
        self._items = PendingRows(inventory_items, "id")
        self._movements = PendingRows(inventory_movements, ("item_id", "version"))
        self._stored_levels: dict[UUID, tuple[Decimal, Decimal]] = {}
        super().__init__(conn, self._items, self._movements)

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
        self._movements.add({"item_id": item_id, "version": version, "at": at, **fields})

    def flush(self) -> None:
        super().flush()
        self._stored_levels.clear()
