"""Commands on work orders: create, import, assign, start, consume, inspect, rework, complete, cancel."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, Response, UploadFile, status

from application.work_order_import import parse_rows
from domain.permissions import WORK_ORDERS_INSPECT, WORK_ORDERS_MANAGE, WORK_ORDERS_WORK
from infrastructure.tabular import MAX_UPLOAD_BYTES, UnreadableUpload, read_table
from interfaces.http.deps import Ctx, ExpectedVersion, Principal, WorkOrdersApp, accepted, require
from interfaces.http.problems import Problem
from interfaces.http.schemas import CommandAccepted
from interfaces.http.work_order_schemas import (
    AssignWelder,
    ConsumeMaterial,
    ImportAccepted,
    ReasonBody,
    RecordInspection,
    WorkOrderCreate,
)

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders: commands"])

Manager = Annotated[Principal, Depends(require(WORK_ORDERS_MANAGE))]
Welder = Annotated[Principal, Depends(require(WORK_ORDERS_WORK))]
Inspector = Annotated[Principal, Depends(require(WORK_ORDERS_INSPECT))]


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: WorkOrderCreate, ctx: Ctx, app: WorkOrdersApp, response: Response, _: Manager) -> CommandAccepted:
    """Create a work order; its order number must be new to the workshop."""
    return accepted(app.create_work_order(ctx, body.to_domain()), response)


@router.post("/import", status_code=status.HTTP_201_CREATED)
def import_orders(
    file: Annotated[UploadFile, File(description="An .xlsx or .csv table, at most 10 MB; row 1 names the columns")],
    ctx: Ctx,
    app: WorkOrdersApp,
    _: Manager,
) -> ImportAccepted:
    """Create work orders from an uploaded table: every row valid and all created, or none and a report per row."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    try:
        table = read_table(data, file.filename)
        orders, problems = parse_rows(table.header, table.rows)
    except UnreadableUpload as error:
        raise Problem(error.status, error.code, "The upload cannot be imported", error.detail) from None
    result = app.import_work_orders(ctx, orders, problems)
    return ImportAccepted(imported=len(result.ids), ids=result.ids, position=result.position)


@router.post("/{order_id}/assign")
def assign(
    order_id: UUID,
    body: AssignWelder,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    _: Manager,
) -> CommandAccepted:
    """Assign (or reassign) the welder, an active account with the operator role."""
    return accepted(app.assign_welder(ctx, order_id, body.welder_id, expected_version=version), response)


@router.post("/{order_id}/start")
def start(
    order_id: UUID, ctx: Ctx, app: WorkOrdersApp, version: ExpectedVersion, response: Response, welder: Welder
) -> CommandAccepted:
    """Start (or resume after rework) the work: only the assigned welder may."""
    return accepted(app.start_work(ctx, order_id, welder.account_id, expected_version=version), response)


@router.post("/{order_id}/materials")
def consume(
    order_id: UUID,
    body: ConsumeMaterial,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    welder: Welder,
) -> CommandAccepted:
    """Consume material from stock for the order: the order and the item change together, or neither."""
    result = app.consume_material(
        ctx,
        order_id,
        welder_id=welder.account_id,
        item_id=body.item_id,
        quantity=body.quantity,
        expected_version=version,
    )
    return accepted(result, response)


@router.post("/{order_id}/inspections")
def inspect(
    order_id: UUID,
    body: RecordInspection,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    inspector: Inspector,
) -> CommandAccepted:
    """Record an inspection of the work in progress: passed or failed, with notes."""
    result = app.record_inspection(
        ctx, order_id, inspector_id=inspector.account_id, passed=body.passed, notes=body.notes, expected_version=version
    )
    return accepted(result, response)


@router.post("/{order_id}/rework")
def rework(
    order_id: UUID,
    body: ReasonBody,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    _: Manager,
) -> CommandAccepted:
    """Send an order whose inspection failed back to its welder for rework."""
    return accepted(app.send_to_rework(ctx, order_id, body.reason, expected_version=version), response)


@router.post("/{order_id}/complete")
def complete(
    order_id: UUID, ctx: Ctx, app: WorkOrdersApp, version: ExpectedVersion, response: Response, _: Manager
) -> CommandAccepted:
    """Complete an order whose latest inspection passed."""
    return accepted(app.complete(ctx, order_id, expected_version=version), response)


@router.post("/{order_id}/cancel")
def cancel(
    order_id: UUID,
    body: ReasonBody,
    ctx: Ctx,
    app: WorkOrdersApp,
    version: ExpectedVersion,
    response: Response,
    _: Manager,
) -> CommandAccepted:
    """Cancel an order that is not completed, giving the reason."""
    return accepted(app.cancel(ctx, order_id, body.reason, expected_version=version), response)
