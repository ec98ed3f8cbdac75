"""How events are stored: the command's metadata inside each event, and Chronicle's own transcodings."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, StoredEvent, Transcoding

from application.shared.commands import CommandContext

METADATA_KEY = "__meta__"

_metadata: ContextVar[dict[str, str] | None] = ContextVar("chronicle_event_metadata", default=None)


@contextmanager
def recording_metadata(ctx: CommandContext) -> Iterator[None]:
    """Events encoded inside this block carry ``ctx``'s actor, correlation and causation ids."""
    token = _metadata.set(ctx.metadata())
    try:
        yield
    finally:
        _metadata.reset(token)


class MetadataMapper(Mapper[UUID]):
    """Stores the command's metadata (actor, correlation, causation) inside each event's state."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        metadata = _metadata.get()
        if metadata is not None:
            domain_event = copy.copy(domain_event)
            object.__setattr__(domain_event, "__dict__", {**vars(domain_event), METADATA_KEY: metadata})
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.to_event_and_metadata(stored_event)[0]

    def to_event_and_metadata(self, stored_event: StoredEvent) -> tuple[Any, dict[str, str]]:
        """The domain event, and the metadata it was stored with (empty for older events)."""
        event = super().to_domain_event(stored_event)
        metadata: dict[str, str] = vars(event).pop(METADATA_KEY, None) or {}
        return event, metadata

    def decode_state(self, stored_event: StoredEvent | Notification) -> dict[str, Any]:
        """The stored state as a dict, metadata included (for auditors)."""
        state = stored_event.state
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        decoded: dict[str, Any] = self.transcoder.decode(state)
        return decoded


class DateAsISO(Transcoding):
    """Calendar dates (a birthday, a due date) in events, as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A frozen dataclass value object (in a snapshot), as a dict of its fields."""

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {field.name: getattr(obj, field.name) for field in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)
