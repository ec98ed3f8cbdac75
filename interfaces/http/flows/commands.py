"""Commands on the caller's own flows: define, edit steps, activate, pause, stop, run (never another's)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from application.flows.application import FlowsApplication
from domain.flows.permissions import FLOWS_OWN
from interfaces.http.flows.schemas import FlowCreate, RunStart, StepsEdit
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Cmd
from interfaces.http.shared.schemas import CommandAccepted
from interfaces.http.shared.services import provide

router = APIRouter(tags=["flows: commands"])

Flows = Annotated[FlowsApplication, provide(FlowsApplication)]
# A caller who may write flows (their own): holding ``flows:own``, which a read-only role (auditor) withdraws.
Owner = Annotated[Principal, Depends(require(FLOWS_OWN))]
FLOW = "/api/v1/flows/{flow_id}"


def _steps(body: FlowCreate | StepsEdit) -> list[dict[str, object]]:
    return [step.model_dump() for step in body.steps]


@router.post("/api/v1/flows", status_code=status.HTTP_201_CREATED)
def define_flow(body: FlowCreate, cmd: Cmd, app: Flows, owner: Owner) -> CommandAccepted:
    """Define a flow (a draft): each step's config is checked with its agent now, every invalid field listed."""
    result = app.define_flow(
        cmd.ctx,
        account_id=owner.account_id,
        title=body.title,
        description=body.description,
        steps=_steps(body),
        schedule_seconds=body.schedule_seconds,
    )
    return cmd.accepted(result)


@router.put(f"{FLOW}/steps")
def edit_steps(flow_id: UUID, body: StepsEdit, cmd: Cmd, app: Flows, owner: Owner) -> CommandAccepted:
    """Replace a draft or paused flow's steps (checked with their agents)."""
    result = app.edit_steps(
        cmd.ctx, flow_id, account_id=owner.account_id, steps=_steps(body), expected_version=cmd.expected_version
    )
    return cmd.accepted(result)


@router.post(f"{FLOW}/activate")
def activate_flow(flow_id: UUID, cmd: Cmd, app: Flows, owner: Owner) -> CommandAccepted:
    """Activate a flow, if your plan's ``active_flows`` allows one more."""
    return cmd.accepted(
        app.activate_flow(cmd.ctx, flow_id, account_id=owner.account_id, expected_version=cmd.expected_version)
    )


@router.post(f"{FLOW}/pause")
def pause_flow(flow_id: UUID, cmd: Cmd, app: Flows, owner: Owner) -> CommandAccepted:
    """Pause an active flow: no new runs; its steps may be edited."""
    return cmd.accepted(
        app.pause_flow(cmd.ctx, flow_id, account_id=owner.account_id, expected_version=cmd.expected_version)
    )


@router.post(f"{FLOW}/stop")
def stop_flow(flow_id: UUID, cmd: Cmd, app: Flows, owner: Owner) -> CommandAccepted:
    """Stop a flow for good."""
    return cmd.accepted(
        app.stop_flow(cmd.ctx, flow_id, account_id=owner.account_id, expected_version=cmd.expected_version)
    )


@router.post(f"{FLOW}/runs", status_code=status.HTTP_201_CREATED)
def start_run(flow_id: UUID, body: RunStart, cmd: Cmd, app: Flows, owner: Owner) -> CommandAccepted:
    """Run an active flow now with ``inputs``: the run is saved and its steps go to a worker one by one."""
    return cmd.accepted(app.start_run(cmd.ctx, flow_id, account_id=owner.account_id, inputs=body.inputs))
