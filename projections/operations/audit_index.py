"""The audit index: one row per stored event, so auditors filter the whole log without scanning it.

It follows every event of the log, of every context, as stored (it never needs the event's class,
so an event of a class this process does not define is indexed too): its position, stream, version,
type, time, and the actor, correlation and causation ids the command stored inside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

from application.shared.follower import EventHandlers
from application.shared.metadata import METADATA_KEY, MetadataMapper


def event_type(topic: str) -> str:
    """``Account.Registered`` for the topic ``domain.accounts.account:Account.Registered``."""
    return topic.rpartition(":")[2]


class AuditIndexView(Protocol):
    """What the audit index needs from its store (implemented in infrastructure)."""

    def add(
        self,
        position: int,
        stream_id: UUID,
        version: int,
        type: str,
        recorded_at: datetime | None,
        actor: str | None,
        correlation_id: str | None,
        causation_id: str | None,
    ) -> None: ...


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class AuditIndexProjection(EventHandlers[AuditIndexView]):
    """Indexes every stored event by stream, type, actor, correlation id and time."""

    name = "audit_index"

    def wants(self, stored_topic: str) -> bool:
        return True

    def take(self, notification: Notification, mapper: MetadataMapper, view: AuditIndexView) -> None:
        state = mapper.decode_state(notification)
        meta = state.get(METADATA_KEY) or {}
        timestamp = state.get("timestamp")
        view.add(
            position=notification.id,
            stream_id=UUID(str(notification.originator_id)),
            version=notification.originator_version,
            type=event_type(notification.topic),
            recorded_at=timestamp if isinstance(timestamp, datetime) else None,
            actor=_text(meta.get("actor")),
            correlation_id=_text(meta.get("correlation_id")),
            causation_id=_text(meta.get("causation_id")),
        )
