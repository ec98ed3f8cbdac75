"""What every Chronicle application shares: one global log, event metadata, conflict mapping."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
    Transcoding,
)
from eventsourcing.utils import Environment, EnvType

from domain.errors import ConcurrencyConflict, NotFound, VersionMismatch

SYSTEM_ACTOR = "system"
METADATA_KEY = "__meta__"


@dataclass(frozen=True)
class CommandContext:
    """Who asks, why, and when: passed in by the caller of every command."""

    actor: str
    correlation_id: str
    causation_id: str
    now: datetime

    def metadata(self) -> dict[str, str]:
        return {"actor": self.actor, "correlation_id": self.correlation_id, "causation_id": self.causation_id}


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the stream, its new version and the log position of its last event."""

    id: UUID
    version: int
    position: int


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


class ChronicleApplication(Application[UUID]):
    """Base of every context's application: all of them append to the one ``chronicle`` log."""

    name = "Chronicle"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The library names each subclass after itself, which would give each context its own log.
        cls.name = "Chronicle"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=MetadataMapper)

    def __init__(self, env: EnvType | None = None, *, shares_log_with: ChronicleApplication | None = None) -> None:
        # Contexts are separate services over one log: they may share its store (one connection pool,
        # one writer, one queue of commits) instead of opening their own.
        self._log_owner = shares_log_with
        super().__init__(env)
        self.save_listeners: list[Callable[[], None]] = []

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        if self._log_owner is not None:
            return self._log_owner.factory
        return super().construct_factory(env)

    def construct_recorder(self) -> ApplicationRecorder:
        if self._log_owner is not None:
            return self._log_owner.recorder
        return super().construct_recorder()

    def close(self) -> None:
        """Close the store, unless it belongs to the application whose log this one shares."""
        if self._log_owner is None:
            super().close()
        else:
            self.closing.set()

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        # In-process followers wake at once instead of waiting for their next poll.
        for listener in self.save_listeners:
            listener()

    @property
    def metadata_mapper(self) -> MetadataMapper:
        assert isinstance(self.mapper, MetadataMapper)
        return self.mapper

    def record(self, ctx: CommandContext, *aggregates: Aggregate) -> CommandResult:
        """Save the aggregates atomically with the command's metadata; a lost race is a conflict."""
        try:
            with recording_metadata(ctx):
                recordings = self.save(*aggregates)
        except IntegrityError as error:
            raise ConcurrencyConflict() from error
        first = aggregates[0]
        position = recordings[-1].notification.id if recordings else 0
        return CommandResult(id=first.id, version=first.version, position=position)

    def existing(self, ids: Collection[UUID]) -> set[UUID]:
        """Which of ``ids`` already have a stream: one query where the recorder answers in bulk."""
        bulk = getattr(self.recorder, "existing_originators", None)
        if bulk is not None:
            found: set[UUID] = bulk(ids)
            return found
        return {i for i in ids if self.recorder.select_events(i, limit=1)}

    def load(self, aggregate_id: UUID, kind: type[Any], expected_version: int | None = None) -> Any:
        """Get an aggregate of ``kind``; ``expected_version`` is the client's If-Match."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"No {kind.__name__.lower()} with id {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"No {kind.__name__.lower()} with id {aggregate_id}")
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatch(expected_version, aggregate.version)
        return aggregate
