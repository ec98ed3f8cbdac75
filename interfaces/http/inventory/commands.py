"""Commands on inventory items: register, receive stock, adjust after a count."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from application.inventory.application import InventoryApplication
from domain.inventory.permissions import INVENTORY_MANAGE
from interfaces.http.inventory.schemas import ItemRegister, StockAdjustment, StockReceipt
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Cmd
from interfaces.http.shared.schemas import CommandAccepted
from interfaces.http.shared.services import provide

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory: commands"])

Inventory = Annotated[InventoryApplication, provide(InventoryApplication)]
Storekeeper = Annotated[Principal, Depends(require(INVENTORY_MANAGE))]


@router.post("", status_code=status.HTTP_201_CREATED)
def register(body: ItemRegister, cmd: Cmd, app: Inventory, _: Storekeeper) -> CommandAccepted:
    """Register an inventory item; its sku must be new to the workshop."""
    result = app.register_item(cmd.ctx, sku=body.sku, name=body.name, unit=body.unit, reorder_level=body.reorder_level)
    return cmd.accepted(result)


@router.post("/{item_id}/receipts")
def receive(item_id: UUID, body: StockReceipt, cmd: Cmd, app: Inventory, _: Storekeeper) -> CommandAccepted:
    """Receive stock of an item."""
    result = app.receive_stock(cmd.ctx, item_id, body.quantity, body.note, expected_version=cmd.expected_version)
    return cmd.accepted(result)


@router.post("/{item_id}/adjustments")
def adjust(item_id: UUID, body: StockAdjustment, cmd: Cmd, app: Inventory, _: Storekeeper) -> CommandAccepted:
    """Correct an item's stock by a signed quantity, giving the reason; stock never goes below zero."""
    result = app.adjust_stock(cmd.ctx, item_id, body.delta, body.reason, expected_version=cmd.expected_version)
    return cmd.accepted(result)
