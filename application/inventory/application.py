"""The Inventory application: register items, receive and adjust stock, and hand out draws for work orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID, uuid4

from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext, CommandResult
from domain.inventory.errors import SkuTaken
from domain.inventory.item import SKU_SCOPE, InventoryItem, normalize_sku
from domain.shared.errors import ConcurrencyConflict
from domain.shared.unique_key import UniqueKey, unique_id


@dataclass(frozen=True)
class Draw:
    """An item about to give material; ``take`` records the consumption, the caller saves ``item``."""

    item: InventoryItem

    @property
    def sku(self) -> str:
        return self.item.sku

    def take(self, *, quantity: Decimal, work_order_id: UUID, now: datetime) -> None:
        self.item.consume(quantity=quantity, work_order_id=work_order_id, now=now)


class InventoryApplication(ChronicleApplication):
    """Commands of the Inventory context: load, decide, save."""

    snapshotting_intervals: ClassVar = {InventoryItem: 50}

    def register_item(
        self, ctx: CommandContext, *, sku: str, name: str, unit: str, reorder_level: Decimal
    ) -> CommandResult:
        key = normalize_sku(sku)
        if self.existing([unique_id(SKU_SCOPE, key)]):
            raise SkuTaken(f"Item {sku.strip()} already exists")
        item = InventoryItem.register(
            item_id=uuid4(), sku=sku, name=name, unit=unit, reorder_level=reorder_level, now=ctx.now
        )
        claim = UniqueKey.claim(scope=SKU_SCOPE, key=key, owner_id=item.id, now=ctx.now)
        try:
            return self.record(ctx, item, claim)
        except ConcurrencyConflict:
            raise SkuTaken(f"Item {sku.strip()} already exists") from None

    def receive_stock(
        self, ctx: CommandContext, item_id: UUID, quantity: Decimal, note: str, expected_version: int | None = None
    ) -> CommandResult:
        item = self.load(item_id, InventoryItem, expected_version)
        item.receive(quantity=quantity, note=note, now=ctx.now)
        return self.record(ctx, item)

    def adjust_stock(
        self, ctx: CommandContext, item_id: UUID, delta: Decimal, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        item = self.load(item_id, InventoryItem, expected_version)
        item.adjust(delta=delta, reason=reason, now=ctx.now)
        return self.record(ctx, item)

    def draw(self, item_id: UUID) -> Draw:
        """The item, for a work order to consume from in its own save (the ``Stock`` port of work orders)."""
        return Draw(self.load(item_id, InventoryItem))
