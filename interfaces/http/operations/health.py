"""Operations: liveness, readiness, and the projections' positions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from domain.shared.access import PROJECTIONS_READ
from infrastructure.shared.operations import Operations
from interfaces.http.operations.schemas import Liveness, ProjectionStatus, Readiness
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
    """Readiness: event store, read store, Redis (when configured) and projection lag."""
    ok, checks = ops.readiness()
    return JsonResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/api/v1/projections")
def projections(_: ReadsProjections, ops: Ops) -> list[ProjectionStatus]:
    """Each projection's position in the log and its lag behind the head."""
    return [ProjectionStatus(name=s.name, position=s.position, head=s.head, lag=s.lag) for s in ops.projections()]
