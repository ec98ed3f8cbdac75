"""Queries on flows and their runs: your own (admins and auditors: everyone's); another's flow is not found."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.flows.errors import FlowNotFound, FlowRunNotFound
from domain.flows.permissions import FLOWS_READ_ALL, FLOWS_READ_OWN
from infrastructure.flows.queries import FLOW_SORTS, RUN_SORTS, FlowQueries, FlowRow
from interfaces.http.flows.schemas import FlowPage, FlowPublic, FlowStatsPublic, RunPage, RunPublic
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.queries import Paging, sort_pattern, waits_for
from interfaces.http.shared.schemas import page_of
from interfaces.http.shared.services import provide

router = APIRouter(tags=["flows: queries"])

Queries = Annotated[FlowQueries, provide(FlowQueries)]
Reader = Annotated[Principal, Depends(require(FLOWS_READ_OWN))]
FLOW_STATUS = r"^(draft|active|paused|stopped)$"
RUN_STATUS = r"^(running|completed|failed)$"
Fresh = [waits_for("flows")]


def _reads_all(reader: Principal) -> bool:
    return FLOWS_READ_ALL in reader.permissions


def _visible(row: Any, reader: Principal) -> bool:
    return row is not None and (_reads_all(reader) or row["account_id"] == reader.account_id)


def _flow(queries: FlowQueries, flow_id: UUID, reader: Principal) -> FlowRow:
    row = queries.flow(flow_id)
    if row is None or not _visible(row, reader):
        raise FlowNotFound(f"No flow with id {flow_id} (if you just wrote it, pass min_position)")
    return row


@router.get("/api/v1/flows", dependencies=Fresh)
def list_flows(
    reader: Reader,
    queries: Queries,
    paging: Paging,
    status: Annotated[str | None, Query(pattern=FLOW_STATUS)] = None,
    account_id: Annotated[UUID | None, Query(description="Admins and auditors: one account's flows")] = None,
    sort: Annotated[
        str, Query(pattern=sort_pattern(FLOW_SORTS), description="A field, '-' prefix for descending")
    ] = "-created_at",
) -> FlowPage:
    """Your flows (admins and auditors: every account's, or ``account_id``'s), with their status and steps."""
    limit, offset = paging
    owner = account_id if _reads_all(reader) else reader.account_id
    page = queries.flows(account_id=owner, status=status, sort=sort, limit=limit, offset=offset)
    return FlowPage.model_validate(page_of(page))


@router.get("/api/v1/flows/{flow_id}", dependencies=Fresh)
def get_flow(flow_id: UUID, reader: Reader, queries: Queries, response: Response) -> FlowPublic:
    """One flow; its version as ``ETag`` (send it as ``If-Match`` with a command)."""
    row = _flow(queries, flow_id, reader)
    response.headers["ETag"] = f'"{row["version"]}"'
    return FlowPublic.model_validate(row)


@router.get("/api/v1/flows/{flow_id}/runs", dependencies=Fresh)
def list_runs(
    flow_id: UUID,
    reader: Reader,
    queries: Queries,
    paging: Paging,
    status: Annotated[str | None, Query(pattern=RUN_STATUS)] = None,
    sort: Annotated[
        str, Query(pattern=sort_pattern(RUN_SORTS), description="A field, '-' prefix for descending")
    ] = "-started_at",
) -> RunPage:
    """A flow's runs, newest first: each step's attempts, output, error and timing."""
    _flow(queries, flow_id, reader)
    limit, offset = paging
    return RunPage.model_validate(page_of(queries.runs(flow_id, status=status, sort=sort, limit=limit, offset=offset)))


@router.get("/api/v1/flow-runs/{run_id}", dependencies=Fresh)
def get_run(run_id: UUID, reader: Reader, queries: Queries, response: Response) -> RunPublic:
    """One run with its steps."""
    row = queries.run(run_id)
    if row is None or not _visible(row, reader):
        raise FlowRunNotFound(f"No flow run with id {run_id} (if you just started it, pass min_position)")
    response.headers["ETag"] = f'"{row["version"]}"'
    return RunPublic.model_validate(row)


@router.get("/api/v1/flows/{flow_id}/stats", dependencies=Fresh)
def flow_stats(flow_id: UUID, reader: Reader, queries: Queries) -> FlowStatsPublic:
    """Runs started, completed and failed, the success rate and the completed runs' mean duration."""
    _flow(queries, flow_id, reader)
    return FlowStatsPublic.model_validate(queries.stats(flow_id))
