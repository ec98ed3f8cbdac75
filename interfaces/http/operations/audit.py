"""Audit: the global log (filtered through the audit index), its NDJSON export, a stream's stored
events with who, when and why, and its state at any version or instant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from application.shared.application import EventLog
from application.shared.metadata import METADATA_KEY, open_deferred
from domain.shared.access import AUDIT_READ
from domain.shared.errors import NotFound
from infrastructure.shared.audit_index import AuditFilter, AuditIndexQueries
from infrastructure.shared.eventlog import StreamReader
from infrastructure.shared.export import REDACTED, AuditExporter, audit_entry, redact
from interfaces.http.operations.schemas import AuditEvent, AuditLog, AuditLogEvent, AuditState, AuditStream
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.queries import waits_for
from interfaces.http.shared.services import provide

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require(AUDIT_READ))]
Log = Annotated[EventLog, provide(EventLog)]
Streams = Annotated[StreamReader, provide(StreamReader)]

Index = Annotated[AuditIndexQueries, provide(AuditIndexQueries)]
Exporter = Annotated[AuditExporter, provide(AuditExporter)]

__all__ = ["REDACTED", "redact", "router"]

MAX_PAGE = 500


def _event_type(topic: str) -> str:
    return topic.rpartition(":")[2]


def _version_at(stream_id: UUID, at: datetime, log: EventLog, streams: Streams) -> int:
    """The stream's last version written at or before ``at`` (read from its stored events)."""
    notifications = streams.read(stream_id)
    if not notifications:
        raise NotFound(f"No stream with id {stream_id}")
    version = None
    for notification in notifications:
        timestamp = log.metadata_mapper.decode_state(notification).get("timestamp")
        if isinstance(timestamp, datetime) and timestamp <= at:
            version = notification.originator_version
    if version is None:
        raise Problem(
            404, "stream_not_yet_written", "The stream did not exist yet", f"Stream {stream_id} begins after {at}"
        )
    return version


@router.get("/events", dependencies=[waits_for("audit_index")])
def log_events(
    _: Auditor,
    log: Log,
    streams: Streams,
    index: Index,
    after: Annotated[int, Query(ge=0, description="Events after this log position")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    stream_id: Annotated[UUID | None, Query(description="One stream's events")] = None,
    type: Annotated[str | None, Query(max_length=200, description="e.g. Account.Registered")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="The account id that acted")] = None,
    correlation_id: Annotated[
        str | None, Query(max_length=200, description="Everything one request did (its request id)")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="Written at or after (with a timezone)")] = None,
    before: Annotated[AwareDatetime | None, Query(description="Written before (with a timezone)")] = None,
) -> AuditLog:
    """The global log in position order, a page at a time (``next_after``), filtered through the audit index."""
    where = AuditFilter(stream_id, type, actor, correlation_id, since, before)
    if where.empty:
        # The log itself, by position: nothing to look up, and never behind.
        page = log.recorder.select_notifications(start=after, limit=limit + 1, inclusive_of_start=False)
        notifications, has_more, indexed_to = list(page[:limit]), len(page) > limit, None
    else:
        found = index.page(where, after, limit)
        notifications, has_more, indexed_to = streams.at_positions(found.positions), found.has_more, found.indexed_to
    log.metadata_mapper.prefetch_keys(notifications)  # one key lookup
    items = [AuditLogEvent.model_validate(audit_entry(n, log.metadata_mapper)) for n in notifications]
    return AuditLog(
        items=items,
        after=after,
        limit=limit,
        next_after=items[-1].position if items else after,
        has_more=has_more,
        indexed_to=indexed_to,
    )


NDJSON_EXAMPLE = (
    '{"position":1,"stream_id":"5f0c1a9e-3b7d-4c2a-9e8f-1d2c3b4a5f60","version":1,"type":"Account.Registered",'
    '"timestamp":"2026-01-01T09:00:00+00:00","actor":"anonymous","correlation_id":"req-1","causation_id":"req-1",'
    '"data":{"email":"ada@example.com"},"topic":"domain.accounts.account:Account.Registered",'
    '"stored_state":"eyJ...","chain":"9f2c..."}\n'
)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {"example": NDJSON_EXAMPLE}},
            "description": "One JSON object per line (docs/auditing.md, the line format)",
        }
    },
)
def export(
    _: Auditor,
    exporter: Exporter,
    after: Annotated[int, Query(ge=0, description="Events after this log position")] = 0,
    until: Annotated[int | None, Query(ge=0, description="Up to and including this position (default: head)")] = None,
) -> StreamingResponse:
    """The log (or the range after < position <= until) as NDJSON, streamed a page at a time (docs/auditing.md)."""
    return StreamingResponse(
        exporter.lines(after, until),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="chronicle-log.ndjson"'},
    )


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
    streams: Streams,
    version: Annotated[int | None, Query(ge=1, description="Default: the latest version")] = None,
    at: Annotated[
        AwareDatetime | None, Query(description="The last version written at or before this instant (with a timezone)")
    ] = None,
) -> AuditState:
    """The aggregate's state as of a version or an instant, rebuilt from its events."""
    if at is not None:
        if version is not None:
            raise Problem(422, "version_and_at", "Give a version or an instant, not both")
        version = _version_at(stream_id, at, log, streams)
    try:
        aggregate: Aggregate = log.repository.get(stream_id, version=version)
    except AggregateNotFoundError:
        raise NotFound(f"No stream with id {stream_id}") from None
    if version is not None and aggregate.version < version:
        raise NotFound(f"Stream {stream_id} has only {aggregate.version} versions")
    open_deferred(aggregate)  # the personal attributes a load leaves sealed until read: the auditor reads them all
    fields = {key.lstrip("_"): value for key, value in vars(aggregate).items() if key != "_pending_events"}
    return AuditState(
        stream_id=stream_id,
        type=type(aggregate).__name__,
        version=aggregate.version,
        state=redact(jsonable_encoder(fields)),
    )
