"""Operations: liveness, readiness, and the projections' positions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from domain.permissions import PROJECTIONS_READ
from infrastructure.container import Container
from interfaces.http.deps import ContainerDep, Principal, Public, require
from interfaces.http.schemas import ProjectionStatus

router = APIRouter(tags=["operations"])

ReadsProjections = Annotated[Principal, Depends(require(PROJECTIONS_READ))]


def projection_statuses(container: Container) -> list[ProjectionStatus]:
    head = container.head_position()
    statuses = []
    for name in container.runners:
        position = container.stored_position(name)
        statuses.append(ProjectionStatus(name=name, position=position, head=head, lag=max(0, head - position)))
    return statuses


@router.get("/health", dependencies=[Public])
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", dependencies=[Public], responses={503: {"description": "A dependency is not ready"}})
def ready(container: ContainerDep) -> JSONResponse:
    """Readiness: event store, read store, Redis (when configured) and projection lag."""
    checks: dict[str, Any] = {}
    try:
        checks["event_store"] = {"ok": True, "head": container.head_position()}
    except Exception as error:
        checks["event_store"] = {"ok": False, "error": type(error).__name__}
    try:
        with container.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["read_store"] = {"ok": True}
    except Exception as error:
        checks["read_store"] = {"ok": False, "error": type(error).__name__}
    client = container.redis()
    if client is not None:
        try:
            checks["redis"] = {"ok": bool(client.ping())}
        except Exception as error:
            checks["redis"] = {"ok": False, "error": type(error).__name__}
    if checks["event_store"]["ok"] and checks["read_store"]["ok"]:
        max_lag = container.settings.ready_max_lag
        lags = {s.name: s.lag for s in projection_statuses(container)}
        checks["projections"] = {"ok": all(lag <= max_lag for lag in lags.values()), "lag": lags, "max_lag": max_lag}
    ok = all(check["ok"] for check in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/api/v1/projections")
def projections(_: ReadsProjections, container: ContainerDep) -> list[ProjectionStatus]:
    """Each projection's position in the log and its lag behind the head."""
    return projection_statuses(container)
