"""Audit: a stream's stored events with who, when and why, and its state at any version."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from application.shared.application import EventLog
from application.shared.metadata import METADATA_KEY
from domain.shared.access import AUDIT_READ
from domain.shared.errors import NotFound
from infrastructure.shared.eventlog import StreamReader
from interfaces.http.operations.schemas import AuditEvent, AuditState, AuditStream
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.services import provide

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require(AUDIT_READ))]
Log = Annotated[EventLog, provide(EventLog)]
Streams = Annotated[StreamReader, provide(StreamReader)]

REDACTED = "[redacted]"
_SECRET_MARKERS = ("password", "token", "nonce", "secret", "verification", "reset", "recovery")


def redact(value: Any) -> Any:
    """Credentials, hashes and pending tokens never leave through the audit API."""
    if isinstance(value, dict):
        return {
            key: REDACTED if any(marker in str(key).lower() for marker in _SECRET_MARKERS) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _event_type(topic: str) -> str:
    return topic.rpartition(":")[2]


@router.get("/streams/{stream_id}/events")
def stream_events(stream_id: UUID, _: Auditor, log: Log, streams: Streams) -> AuditStream:
    """Every event of a stream in order, with actor, correlation and causation ids."""
    mapper = log.metadata_mapper
    notifications = streams.read(stream_id)
    if not notifications:
        raise NotFound(f"No stream with id {stream_id}")
    events = []
    for notification in notifications:
        state = mapper.decode_state(notification)
        meta = state.pop(METADATA_KEY, None) or {}
        timestamp = state.pop("timestamp", None)
        state.pop("originator_topic", None)
        events.append(
            AuditEvent(
                position=notification.id,
                version=notification.originator_version,
                type=_event_type(notification.topic),
                timestamp=timestamp,
                actor=meta.get("actor"),
                correlation_id=meta.get("correlation_id"),
                causation_id=meta.get("causation_id"),
                payload=redact(jsonable_encoder(state)),
            )
        )
    return AuditStream(stream_id=stream_id, events=events)


@router.get("/streams/{stream_id}/state")
def stream_state(
    stream_id: UUID,
    _: Auditor,
    log: Log,
    version: Annotated[int | None, Query(ge=1, description="Default: the latest version")] = None,
) -> AuditState:
    """The aggregate's state as of a version, rebuilt from its events."""
    try:
        aggregate: Aggregate = log.repository.get(stream_id, version=version)
    except AggregateNotFoundError:
        raise NotFound(f"No stream with id {stream_id}") from None
    if version is not None and aggregate.version < version:
        raise NotFound(f"Stream {stream_id} has only {aggregate.version} versions")
    fields = {key.lstrip("_"): value for key, value in vars(aggregate).items() if key != "_pending_events"}
    return AuditState(
        stream_id=stream_id,
        type=type(aggregate).__name__,
        version=aggregate.version,
        state=redact(jsonable_encoder(fields)),
    )
