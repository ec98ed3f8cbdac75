"""Operations: liveness, readiness, the projections' positions, and their rebuild jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from domain.shared.access import PROJECTIONS_READ, PROJECTIONS_REBUILD
from infrastructure.shared.operations import Operations, ProjectionState
from infrastructure.shared.rebuild import Rebuilds
from interfaces.http.operations.schemas import (
    ActiveWorkerStatus,
    Liveness,
    ProjectionError,
    ProjectionStatus,
    Readiness,
    RebuildAccepted,
    RebuildStatus,
)
from interfaces.http.shared.auth import Principal, Public, require
from interfaces.http.shared.problems import JsonResponse
from interfaces.http.shared.services import provide

router = APIRouter(tags=["operations"])

Ops = Annotated[Operations, provide(Operations)]
ReadsProjections = Annotated[Principal, Depends(require(PROJECTIONS_READ))]
RebuildsProjections = Annotated[Principal, Depends(require(PROJECTIONS_REBUILD))]
Jobs = Annotated[Rebuilds, provide(Rebuilds)]
Force = Annotated[bool, Query(description="Swap even when rows differ and the projection code did not change")]
ProjectionName = Annotated[str, Path(max_length=100, pattern=r"^[a-z][a-z0-9_]*$", description="e.g. work_orders")]


@router.get("/health", dependencies=[Public])
def health() -> Liveness:
    """Liveness: the process answers."""
    return Liveness(status="ok")


@router.head("/health", dependencies=[Public], include_in_schema=False)
def health_head() -> None:
    """Liveness for probes that send HEAD."""


@router.get(
    "/ready",
    dependencies=[Public],
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
)
def ready(ops: Ops) -> JsonResponse:
    """Readiness within a second: event store, read store, Redis (when configured), projection lag and failures."""
    ok, checks = ops.readiness()
    return JsonResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/api/v1/projections")
def projections(_: ReadsProjections, ops: Ops) -> list[ProjectionStatus]:
    """Each projection's position in the log, its lag behind the head, and its state (``failed``: why, and where)."""
    return [_status(state) for state in ops.projections()]


@router.post(
    "/api/v1/projections/{name}/rebuild",
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"description": "No read model by that name"}, 409: {"description": "A rebuild of it runs"}},
)
def start_rebuild(
    name: ProjectionName,
    _: RebuildsProjections,
    rebuilds: Jobs,
    force: Force = False,
) -> RebuildAccepted:
    """Rebuild a read model beside the live one (queries keep being served) and swap it in; a job of this process."""
    return RebuildAccepted(job_id=rebuilds.start(name, force=force), name=name)


def _status(state: ProjectionState) -> ProjectionStatus:
    failure = state.failure
    status = ProjectionStatus(name=state.name, position=state.position, head=state.head, lag=state.lag, state="running")
    if state.active is not None:
        status.active_worker = ActiveWorkerStatus(pid=state.active.pid, host=state.active.host)
    job = state.rebuild
    if job is not None:
        status.rebuild = RebuildStatus.model_validate(
            {
                "job_id": job.job_id,
                "state": job.state,
                "position": job.position,
                "head": job.head,
                "worker": job.worker,
                "error": job.error,
                "report": job.report,
            }
        )
    if failure is None:
        return status
    return status.model_copy(
        update={
            "state": "failed",
            "failed_position": failure.position,
            "error": ProjectionError(type=failure.error_type, message=failure.error),
            "retries": failure.retries,
            "failed_since": failure.first_failed_at,
            "last_attempt_at": failure.last_failed_at,
        }
    )
