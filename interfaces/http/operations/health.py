"""Operations: liveness, readiness, and the projections' positions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from domain.shared.access import PROJECTIONS_READ
from infrastructure.shared.operations import Operations, ProjectionState
from interfaces.http.operations.schemas import Liveness, ProjectionError, ProjectionStatus, Readiness
from interfaces.http.shared.auth import Principal, Public, require
from interfaces.http.shared.problems import JsonResponse
from interfaces.http.shared.services import provide

router = APIRouter(tags=["operations"])

Ops = Annotated[Operations, provide(Operations)]
ReadsProjections = Annotated[Principal, Depends(require(PROJECTIONS_READ))]


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


def _status(state: ProjectionState) -> ProjectionStatus:
    failure = state.failure
    status = ProjectionStatus(name=state.name, position=state.position, head=state.head, lag=state.lag, state="running")
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
