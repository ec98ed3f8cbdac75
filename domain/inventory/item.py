"""The InventoryItem aggregate: a stock-keeping unit of the workshop and its stock level.

Invariants:
- the sku is unique across the workshop (claimed through a ``UniqueKey`` in the same save);
- stock is never negative: a consumption or adjustment that would take it below zero is refused;
- every movement changes stock by a non-zero quantity with at most three decimal places;
- a consumption names the work order it was for; an adjustment names its reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.inventory.errors import AdjustmentReasonRequired, InsufficientStock, InvalidInventoryItem
from domain.shared.quantity import check_quantity
from domain.shared.topics import moved

SKU_SCOPE = "sku"
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
_SKU = re.compile(SKU_PATTERN)


def normalize_sku(sku: str) -> str:
    """The key under which a sku is unique: trimmed and upper-cased."""
    return sku.strip().upper()


class InventoryItem(Aggregate):
    """Material on the shelf: received, consumed by work orders, adjusted after a count."""

    class Registered(Aggregate.Created):
        sku: str
        name: str
        unit: str
        reorder_level: Decimal

    class Received(Aggregate.Event):
        quantity: Decimal
        note: str

        def apply(self, item: InventoryItem) -> None:
            item.stock += self.quantity

    class Consumed(Aggregate.Event):
        quantity: Decimal
        work_order_id: UUID

        def apply(self, item: InventoryItem) -> None:
            item.stock -= self.quantity

    class Adjusted(Aggregate.Event):
        delta: Decimal
        reason: str

        def apply(self, item: InventoryItem) -> None:
            item.stock += self.delta

    def __init__(self, sku: str, name: str, unit: str, reorder_level: Decimal) -> None:
        self.sku = sku
        self.name = name
        self.unit = unit
        self.reorder_level = reorder_level
        self.stock = Decimal(0)

    @classmethod
    def register(
        cls, *, item_id: UUID, sku: str, name: str, unit: str, reorder_level: Decimal, now: datetime
    ) -> InventoryItem:
        sku = sku.strip()
        if not _SKU.match(sku):
            raise InvalidInventoryItem("A sku is 1-64 letters, digits or . _ / - and starts with a letter or digit")
        if not name.strip() or len(name) > 200:
            raise InvalidInventoryItem("The name must not be empty (at most 200 characters)")
        if not unit.strip() or len(unit) > 16:
            raise InvalidInventoryItem("The unit must not be empty (at most 16 characters)")
        if not reorder_level.is_zero():  # ``!= 0`` raises on a signalling NaN
            check_quantity(reorder_level)
        return cls._create(
            cls.Registered,
            id=item_id,
            timestamp=now,
            sku=sku,
            name=name.strip(),
            unit=unit.strip(),
            reorder_level=reorder_level,
        )

    @property
    def low_on_stock(self) -> bool:
        return self.stock <= self.reorder_level

    def receive(self, *, quantity: Decimal, note: str, now: datetime) -> None:
        check_quantity(quantity)
        self.trigger_event(self.Received, timestamp=now, quantity=quantity, note=note.strip())

    def consume(self, *, quantity: Decimal, work_order_id: UUID, now: datetime) -> None:
        check_quantity(quantity)
        if quantity > self.stock:
            raise InsufficientStock(self.sku, self.stock, quantity)
        self.trigger_event(self.Consumed, timestamp=now, quantity=quantity, work_order_id=work_order_id)

    def adjust(self, *, delta: Decimal, reason: str, now: datetime) -> None:
        check_quantity(delta, allow_negative=True)
        if not reason.strip():
            raise AdjustmentReasonRequired()
        if self.stock + delta < 0:
            raise InsufficientStock(self.sku, self.stock, -delta)
        self.trigger_event(self.Adjusted, timestamp=now, delta=delta, reason=reason.strip())


moved("domain.inventory", InventoryItem)
