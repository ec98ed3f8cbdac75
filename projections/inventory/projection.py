"""The inventory read model: each item's stock level, its low-stock flag, and every movement."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.inventory.item import InventoryItem, normalize_sku


class InventoryView(Protocol):
    """What the inventory projection needs from its store (implemented in infrastructure)."""

    def add_item(self, item_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def levels(self, item_id: UUID) -> tuple[Decimal, Decimal]:
        """(stock, reorder level) of an item already in the view."""
        ...

    def update_item(self, item_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def add_movement(self, item_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...


class InventoryProjection(EventHandlers[InventoryView]):
    """Folds InventoryItem events into stock levels and the movements list."""

    name = "inventory"

    @handles(InventoryItem.Registered)
    def registered(self, e: InventoryItem.Registered, view: InventoryView, meta: dict[str, Any]) -> None:
        view.add_item(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            sku=e.sku,
            sku_key=normalize_sku(e.sku),
            name=e.name,
            unit=e.unit,
            reorder_level=e.reorder_level,
            stock=Decimal(0),
            low_stock=Decimal(0) <= e.reorder_level,
        )

    @handles(InventoryItem.Received)
    def received(self, e: InventoryItem.Received, view: InventoryView, meta: dict[str, Any]) -> None:
        self._move(e, view, meta, "received", e.quantity, note=e.note)

    @handles(InventoryItem.Consumed)
    def consumed(self, e: InventoryItem.Consumed, view: InventoryView, meta: dict[str, Any]) -> None:
        self._move(e, view, meta, "consumed", -e.quantity, work_order_id=e.work_order_id)

    @handles(InventoryItem.Adjusted)
    def adjusted(self, e: InventoryItem.Adjusted, view: InventoryView, meta: dict[str, Any]) -> None:
        self._move(e, view, meta, "adjusted", e.delta, note=e.reason)

    @staticmethod
    def _move(e: Any, view: InventoryView, meta: dict[str, Any], kind: str, delta: Decimal, **fields: Any) -> None:
        stock, reorder_level = view.levels(e.originator_id)
        stock += delta
        view.update_item(
            e.originator_id, e.originator_version, e.timestamp, stock=stock, low_stock=stock <= reorder_level
        )
        view.add_movement(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            kind=kind,
            quantity=delta,
            stock_after=stock,
            actor=meta.get("actor"),
            **fields,
        )
