"""Queries on the work-order read models: the list, an order's detail with its timeline, the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.work_orders.permissions import WORK_ORDERS_READ
from domain.work_orders.work_order import WorkOrderStatus
from infrastructure.inventory.queries import InventoryQueries
from infrastructure.work_orders.queries import WORK_ORDER_SORTS, WorkOrderQueries
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Now
from interfaces.http.shared.queries import Paging, found, sort_pattern, waits_for
from interfaces.http.shared.schemas import page_of
from interfaces.http.shared.services import provide
from interfaces.http.work_orders.schemas import Dashboard, WorkOrderDetail, WorkOrderList

router = APIRouter(tags=["work orders: queries"])

Queries = Annotated[WorkOrderQueries, provide(WorkOrderQueries)]
Stock = Annotated[InventoryQueries, provide(InventoryQueries)]
ReadsOrders = Annotated[Principal, Depends(require(WORK_ORDERS_READ))]
LOW_STOCK_SHOWN = 50


@router.get("/api/v1/work-orders", dependencies=[waits_for("work_orders")])
def list_work_orders(
    _: ReadsOrders,
    queries: Queries,
    clock: Now,
    paging: Paging,
    sort: Annotated[
        str, Query(pattern=sort_pattern(WORK_ORDER_SORTS), description="A field, '-' prefix for descending")
    ] = "due_date",
    status: WorkOrderStatus | None = None,
    client: Annotated[str | None, Query(min_length=1, max_length=100, description="Substring, any case")] = None,
    welder_id: UUID | None = None,
    machine: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    due_from: date | None = None,
    due_to: date | None = None,
    overdue: Annotated[bool | None, Query(description="Past its due date and neither completed nor cancelled")] = None,
) -> WorkOrderList:
    """List work orders with filters, sorting and paging."""
    limit, offset = paging
    page = queries.search(
        limit=limit,
        offset=offset,
        sort=sort,
        today=clock().date(),
        status=status,
        client=client,
        welder_id=welder_id,
        machine=machine,
        due_from=due_from,
        due_to=due_to,
        overdue=overdue,
    )
    return WorkOrderList.model_validate(page_of(page))


@router.get("/api/v1/work-orders/dashboard", dependencies=[waits_for("workshop_dashboard", "inventory")])
def dashboard(_: ReadsOrders, queries: Queries, stock: Stock, clock: Now) -> Dashboard:
    """Counts by status, overdue orders, inspection pass rate, average cycle time and low-stock alerts."""
    figures = queries.dashboard(clock().date())
    return Dashboard.model_validate({**figures, "low_stock": stock.low_stock(LOW_STOCK_SHOWN)})


@router.get("/api/v1/work-orders/{order_id}", dependencies=[waits_for("work_orders", "work_order_timeline")])
def get_work_order(order_id: UUID, _: ReadsOrders, queries: Queries, response: Response) -> WorkOrderDetail:
    """One work order with its materials and its timeline (every event, who and when); version as ETag."""
    return WorkOrderDetail.model_validate(found(queries.get(order_id), "work order", order_id, response))
