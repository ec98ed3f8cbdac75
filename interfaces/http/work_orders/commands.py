"""Commands on work orders: create, import, assign, start, consume, inspect, rework, complete, cancel."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, UploadFile, status

from application.work_orders.application import WorkOrdersApplication
from application.work_orders.importing import MAX_UPLOAD_BYTES
from domain.work_orders.permissions import WORK_ORDERS_INSPECT, WORK_ORDERS_MANAGE, WORK_ORDERS_WORK
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Cmd, Ctx
from interfaces.http.shared.entitlements import requires_feature
from interfaces.http.shared.schemas import CommandAccepted, ReasonBody
from interfaces.http.shared.services import provide
from interfaces.http.work_orders.schemas import (
    AssignWelder,
    ConsumeMaterial,
    ImportAccepted,
    RecordInspection,
    WorkOrderCreate,
)

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders: commands"])

WorkOrders = Annotated[WorkOrdersApplication, provide(WorkOrdersApplication)]
Manager = Annotated[Principal, Depends(require(WORK_ORDERS_MANAGE))]
Welder = Annotated[Principal, Depends(require(WORK_ORDERS_WORK))]
Inspector = Annotated[Principal, Depends(require(WORK_ORDERS_INSPECT))]
# Bulk import is a plan feature (the free plan lacks it); checked after the permission.
BULK_IMPORT = "bulk_import"
Importer = Annotated[Principal, Depends(requires_feature(BULK_IMPORT))]


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: WorkOrderCreate, cmd: Cmd, app: WorkOrders, _: Manager) -> CommandAccepted:
    """Create a work order; its order number must be new to the workshop."""
    return cmd.accepted(app.create_work_order(cmd.ctx, body.to_domain()))


@router.post("/import", status_code=status.HTTP_201_CREATED)
def import_orders(
    file: Annotated[UploadFile, File(description="An .xlsx or .csv table, at most 10 MB; row 1 names the columns")],
    ctx: Ctx,
    app: WorkOrders,
    _: Manager,
    __: Importer,
) -> ImportAccepted:
    """Create work orders from an uploaded table (a plan with bulk import): all rows created, or none and a report."""
    result = app.import_file(ctx, file.file.read(MAX_UPLOAD_BYTES + 1), file.filename)
    return ImportAccepted(imported=len(result.ids), ids=result.ids, position=result.position)


@router.post("/{order_id}/assign")
def assign(order_id: UUID, body: AssignWelder, cmd: Cmd, app: WorkOrders, _: Manager) -> CommandAccepted:
    """Assign (or reassign) the welder, an active account with the operator role."""
    return cmd.accepted(app.assign_welder(cmd.ctx, order_id, body.welder_id, expected_version=cmd.expected_version))


@router.post("/{order_id}/start")
def start(order_id: UUID, cmd: Cmd, app: WorkOrders, welder: Welder) -> CommandAccepted:
    """Start (or resume after rework) the work: only the assigned welder may."""
    return cmd.accepted(app.start_work(cmd.ctx, order_id, welder.account_id, expected_version=cmd.expected_version))


@router.post("/{order_id}/materials")
def consume(order_id: UUID, body: ConsumeMaterial, cmd: Cmd, app: WorkOrders, welder: Welder) -> CommandAccepted:
    """Consume material from stock for the order: the order and the item change together, or neither."""
    result = app.consume_material(
        cmd.ctx,
        order_id,
        welder_id=welder.account_id,
        item_id=body.item_id,
        quantity=body.quantity,
        expected_version=cmd.expected_version,
    )
    return cmd.accepted(result)


@router.post("/{order_id}/inspections")
def inspect(order_id: UUID, body: RecordInspection, cmd: Cmd, app: WorkOrders, inspector: Inspector) -> CommandAccepted:
    """Record an inspection of the work in progress: passed or failed, with notes."""
    result = app.record_inspection(
        cmd.ctx,
        order_id,
        inspector_id=inspector.account_id,
        passed=body.passed,
        notes=body.notes,
        expected_version=cmd.expected_version,
    )
    return cmd.accepted(result)


@router.post("/{order_id}/rework")
def rework(order_id: UUID, body: ReasonBody, cmd: Cmd, app: WorkOrders, _: Manager) -> CommandAccepted:
    """Send an order whose inspection failed back to its welder for rework."""
    return cmd.accepted(app.send_to_rework(cmd.ctx, order_id, body.reason, expected_version=cmd.expected_version))


@router.post("/{order_id}/complete")
def complete(order_id: UUID, cmd: Cmd, app: WorkOrders, _: Manager) -> CommandAccepted:
    """Complete an order whose latest inspection passed."""
    return cmd.accepted(app.complete_work_order(cmd.ctx, order_id, expected_version=cmd.expected_version))


@router.post("/{order_id}/cancel")
def cancel(order_id: UUID, body: ReasonBody, cmd: Cmd, app: WorkOrders, _: Manager) -> CommandAccepted:
    """Cancel an order that is not completed, giving the reason."""
    return cmd.accepted(app.cancel_work_order(cmd.ctx, order_id, body.reason, expected_version=cmd.expected_version))
