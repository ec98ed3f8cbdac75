"""How a stored event leaves for auditors: one entry per event (the audit API's items) and one
NDJSON line per event (the export), built in one place each.

THE LINE FORMAT IS A CONTRACT (docs/auditing.md): one JSON object per line with the keys
``position, stream_id, version, type, timestamp, actor, correlation_id, causation_id, data,
stored_state, topic, chain``; ``stored_state`` is the base64 of the exact bytes stored for the event's
state, ``topic`` the stored topic and ``chain`` the event's hash-chain link (hex), so that the log can
be checked offline against what the database holds (``chronicle audit verify``). ``export_line`` is the only
place a line is built: a key added there is in every export.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import ApplicationRecorder, Notification

from application.shared.metadata import METADATA_KEY, MetadataMapper
from projections.operations.audit_index import event_type

REDACTED = "[redacted]"
_SECRET_MARKERS = ("password", "token", "nonce", "secret", "verification", "reset", "recovery")
# Kept beside the data, not inside it: the entry names them itself.
_ENVELOPE = (METADATA_KEY, "timestamp", "originator_topic", "originator_id", "originator_version")


@lru_cache(maxsize=4096)
def _names_a_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def redact(value: Any) -> Any:
    """Credentials, hashes and pending tokens never leave through the audit API or an export."""
    if isinstance(value, dict):
        return {key: REDACTED if _names_a_secret(str(key)) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def utc_text(moment: datetime) -> str:
    """An instant as ISO 8601 in UTC (``2026-12-01T08:12:40.123456+00:00``)."""
    return moment.astimezone(UTC).isoformat()


def plain(value: Any) -> Any:
    """A decoded stored value as JSON values: exact decimals and ids as text, instants in UTC."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return utc_text(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


def audit_entry(notification: Notification, mapper: MetadataMapper) -> dict[str, Any]:
    """One stored event as auditors read it: where it is, who wrote it and why, and its data (redacted)."""
    state = mapper.decode_state(notification)
    meta = state.get(METADATA_KEY) or {}
    timestamp = state.get("timestamp")
    data = {key: value for key, value in state.items() if key not in _ENVELOPE}
    return {
        "position": notification.id,
        "stream_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": event_type(notification.topic),
        "timestamp": utc_text(timestamp) if isinstance(timestamp, datetime) else None,
        "actor": meta.get("actor"),
        "correlation_id": meta.get("correlation_id"),
        "causation_id": meta.get("causation_id"),
        "data": redact(plain(data)),
    }


def export_line(notification: Notification, mapper: MetadataMapper) -> bytes:
    """THE export line of one stored event (see the module's docstring), newline included."""
    line = audit_entry(notification, mapper)
    line["stored_state"] = base64.b64encode(notification.state).decode()
    # The hash chain's inputs beside the stored bytes (docs/auditing.md, "What the chain proves"): the stored
    # topic (``type`` is its class part only) and the event's link, hex (null where the store has none).
    line["topic"] = notification.topic
    chain = getattr(notification, "chain", None)
    line["chain"] = chain.hex() if chain is not None else None
    return orjson.dumps(line) + b"\n"


def export_lines(
    recorder: ApplicationRecorder,
    mapper: MetadataMapper,
    *,
    after: int = 0,
    until: int | None = None,
    page_size: int = 1000,
) -> Iterator[bytes]:
    """The lines of every event with ``after < position <= until`` (to the head without ``until``), in order.

    The log is read a page at a time from the position the last page ended at (keyset paging): memory
    holds one page, however long the log, and no transaction stays open between pages. Positions
    commit in order (the store's insert lock), so a page never passes over an event committed later.
    """
    position = after
    while until is None or position < until:
        page = recorder.select_notifications(start=position, limit=page_size, stop=until, inclusive_of_start=False)
        mapper.prefetch_keys(page)  # one key lookup a page
        for notification in page:
            yield export_line(notification, mapper)
        if len(page) < page_size:
            return
        position = page[-1].id


@dataclass(frozen=True)
class AuditExporter:
    """The log's export, read ``page_size`` events at a time (``AUDIT_EXPORT_PAGE_SIZE``)."""

    recorder: ApplicationRecorder
    mapper: MetadataMapper
    page_size: int = 1000

    def lines(self, after: int = 0, until: int | None = None) -> Iterator[bytes]:
        return export_lines(self.recorder, self.mapper, after=after, until=until, page_size=self.page_size)
