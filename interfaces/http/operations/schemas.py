"""Response shapes of the audit and operations routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class AuditEvent(BaseModel):
    position: int
    version: int
    type: str
    timestamp: datetime | None
    actor: str | None
    correlation_id: str | None
    causation_id: str | None
    payload: dict[str, Any]


class AuditStream(BaseModel):
    stream_id: UUID
    events: list[AuditEvent]


class AuditState(BaseModel):
    stream_id: UUID
    type: str
    version: int
    state: dict[str, Any]


class ProjectionStatus(BaseModel):
    name: str
    position: int
    head: int
    lag: int


class Readiness(BaseModel):
    status: str
    checks: dict[str, Any]
