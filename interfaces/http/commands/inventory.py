"""Commands on inventory items: register, receive stock, adjust after a count."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from domain.permissions import INVENTORY_MANAGE
from interfaces.http.deps import Ctx, ExpectedVersion, Principal, WorkOrdersApp, accepted, require
from interfaces.http.schemas import CommandAccepted
from interfaces.http.work_order_schemas import ItemRegister, StockAdjustment, StockReceipt

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory: commands"])

Storekeeper = Annotated[Principal, Depends(require(INVENTORY_MANAGE))]


@router.post("", status_code=status.HTTP_201_CREATED)
def register(body: ItemRegister, ctx: Ctx, app: WorkOrdersApp, response: Response, _: Storekeeper) -> CommandAccepted:
    """Register an inventory item; its sku must be new to the workshop."""
    result = app.register_item(ctx, sku=body.sku, name=body.name, unit=body.unit, reorder_level=body.reorder_level)
    return accepted(result, response)


@router.post("/{item_id}/receipts")
def receive(
    item_id: UUID,
    body: StockReceipt,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    _: Storekeeper,
) -> CommandAccepted:
    """Receive stock of an item."""
    return accepted(app.receive_stock(ctx, item_id, body.quantity, body.note, expected_version=version), response)


@router.post("/{item_id}/adjustments")
def adjust(
    item_id: UUID,
    body: StockAdjustment,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    _: Storekeeper,
) -> CommandAccepted:
    """Correct an item's stock by a signed quantity, giving the reason; stock never goes below zero."""
    return accepted(app.adjust_stock(ctx, item_id, body.delta, body.reason, expected_version=version), response)
