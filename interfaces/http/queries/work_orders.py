"""Queries on the work-order and inventory read models: lists, details with timelines, the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.errors import NotFound
from domain.permissions import INVENTORY_READ, WORK_ORDERS_READ
from infrastructure.inventory_readmodel import ITEM_SORTS
from infrastructure.work_orders_readmodel import WORK_ORDER_SORTS
from interfaces.http.deps import ContainerDep, Paging, Principal, found, page_body, require, waits_for
from interfaces.http.work_order_schemas import (
    Dashboard,
    ItemList,
    ItemPublic,
    MovementList,
    Status,
    WorkOrderDetail,
    WorkOrderList,
)

router = APIRouter(tags=["work orders: queries"])

ReadsOrders = Annotated[Principal, Depends(require(WORK_ORDERS_READ))]
ReadsInventory = Annotated[Principal, Depends(require(INVENTORY_READ))]
FreshOrders = Depends(waits_for("work_orders"))
FreshInventory = Depends(waits_for("inventory"))


def _sort_pattern(columns: dict[str, object]) -> str:
    return "^-?(" + "|".join(columns) + ")$"


@router.get("/api/v1/work-orders", dependencies=[FreshOrders])
def list_work_orders(
    _: ReadsOrders,
    container: ContainerDep,
    paging: Paging,
    sort: Annotated[
        str, Query(pattern=_sort_pattern(WORK_ORDER_SORTS), description="A field, '-' prefix for descending")
    ] = "due_date",
    status: Status | None = None,
    client: Annotated[str | None, Query(min_length=1, max_length=100, description="Substring, any case")] = None,
    welder_id: UUID | None = None,
    machine: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    due_from: date | None = None,
    due_to: date | None = None,
    overdue: Annotated[bool | None, Query(description="Past its due date and neither completed nor cancelled")] = None,
) -> WorkOrderList:
    """List work orders with filters, sorting and paging."""
    limit, offset = paging
    page = container.work_order_queries.search(
        limit=limit,
        offset=offset,
        sort=sort,
        today=container.clock().date(),
        status=status,
        client=client,
        welder_id=welder_id,
        machine=machine,
        due_from=due_from,
        due_to=due_to,
        overdue=overdue,
    )
    return WorkOrderList.model_validate(page_body(page))


@router.get("/api/v1/work-orders/dashboard", dependencies=[FreshOrders, FreshInventory])
def dashboard(_: ReadsOrders, container: ContainerDep) -> Dashboard:
    """Counts by status, overdue orders, inspection pass rate, average cycle time and low-stock alerts."""
    return Dashboard.model_validate(container.work_order_queries.dashboard(container.clock().date()))


@router.get("/api/v1/work-orders/{order_id}", dependencies=[FreshOrders])
def get_work_order(order_id: UUID, _: ReadsOrders, container: ContainerDep, response: Response) -> WorkOrderDetail:
    """One work order with its materials and its timeline (every event, who and when); version as ETag."""
    row = found(container.work_order_queries.get(order_id), "work order", order_id, response)
    return WorkOrderDetail.model_validate(row)


@router.get("/api/v1/inventory", dependencies=[FreshInventory])
def list_items(
    _: ReadsInventory,
    container: ContainerDep,
    paging: Paging,
    sort: Annotated[str, Query(pattern=_sort_pattern(ITEM_SORTS))] = "sku",
    low_stock: Annotated[bool | None, Query(description="Only items at or below their reorder level")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Search sku and name")] = None,
) -> ItemList:
    """Inventory levels."""
    limit, offset = paging
    page = container.inventory_queries.search(limit=limit, offset=offset, sort=sort, low_stock=low_stock, q=q)
    return ItemList.model_validate(page_body(page))


@router.get("/api/v1/inventory/{item_id}", dependencies=[FreshInventory])
def get_item(item_id: UUID, _: ReadsInventory, container: ContainerDep, response: Response) -> ItemPublic:
    """One item's stock level; version as ETag."""
    return ItemPublic.model_validate(
        found(container.inventory_queries.get(item_id), "inventory item", item_id, response)
    )


@router.get("/api/v1/inventory/{item_id}/movements", dependencies=[FreshInventory])
def movements(item_id: UUID, _: ReadsInventory, container: ContainerDep, paging: Paging) -> MovementList:
    """An item's stock movements, newest first."""
    limit, offset = paging
    if container.inventory_queries.get(item_id) is None:
        raise NotFound(f"No inventory item with id {item_id}")
    return MovementList.model_validate(
        page_body(container.inventory_queries.movements(item_id, limit=limit, offset=offset))
    )
