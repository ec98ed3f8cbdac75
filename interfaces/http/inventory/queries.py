"""Queries on the inventory read model: stock levels and each item's movements."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.inventory.permissions import INVENTORY_READ
from domain.shared.errors import NotFound
from infrastructure.inventory.queries import ITEM_SORTS, InventoryQueries
from interfaces.http.inventory.schemas import ItemList, ItemPublic, MovementList
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.queries import Paging, found, sort_pattern, waits_for
from interfaces.http.shared.schemas import page_of
from interfaces.http.shared.services import provide

router = APIRouter(tags=["inventory: queries"])

Queries = Annotated[InventoryQueries, provide(InventoryQueries)]
ReadsInventory = Annotated[Principal, Depends(require(INVENTORY_READ))]
FreshInventory = waits_for("inventory")


@router.get("/api/v1/inventory", dependencies=[FreshInventory])
def list_items(
    _: ReadsInventory,
    queries: Queries,
    paging: Paging,
    sort: Annotated[str, Query(pattern=sort_pattern(ITEM_SORTS))] = "sku",
    low_stock: Annotated[bool | None, Query(description="Only items at or below their reorder level")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Search sku and name")] = None,
) -> ItemList:
    """Inventory levels."""
    limit, offset = paging
    page = queries.search(limit=limit, offset=offset, sort=sort, low_stock=low_stock, q=q)
    return ItemList.model_validate(page_of(page))


@router.get("/api/v1/inventory/{item_id}", dependencies=[FreshInventory])
def get_item(item_id: UUID, _: ReadsInventory, queries: Queries, response: Response) -> ItemPublic:
    """One item's stock level; version as ETag."""
    return ItemPublic.model_validate(found(queries.get(item_id), "inventory item", item_id, response))


@router.get("/api/v1/inventory/{item_id}/movements", dependencies=[FreshInventory])
def movements(item_id: UUID, _: ReadsInventory, queries: Queries, paging: Paging) -> MovementList:
    """An item's stock movements, newest first."""
    limit, offset = paging
    if queries.get(item_id) is None:
        raise NotFound(f"No inventory item with id {item_id}")
    return MovementList.model_validate(page_of(queries.movements(item_id, limit=limit, offset=offset)))
