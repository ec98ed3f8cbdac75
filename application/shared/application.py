"""What every Chronicle application shares: one global log, event metadata, conflict mapping."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Recording,
    Transcoder,
)
from eventsourcing.utils import Environment, EnvType

from application.shared.commands import CommandContext, CommandResult
from application.shared.metadata import DateAsISO, MetadataMapper, recording_metadata
from application.shared.repository import ChronicleRepository
from application.shared.transcoder import ChronicleTranscoder
from domain.shared.errors import ConcurrencyConflict, NotFound, VersionMismatch
from domain.shared.idempotency import IdempotencyKey, IdempotencyKeyInFlight, RecordedAnswer, idempotency_key_id

A = TypeVar("A", bound=Aggregate)


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

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON format, decoded with orjson (``ChronicleTranscoder``)."""
        transcoder = ChronicleTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=MetadataMapper)

    def __init__(self, env: EnvType | None = None, *, shares_log_with: ChronicleApplication | None = None) -> None:
        # Contexts are separate services over one log: they share its store (one connection pool,
        # one writer, one queue of commits) instead of opening their own.
        self._log_owner = shares_log_with
        # One log, one snapshot policy: an aggregate saved through another context's application (an
        # item consumed by a work order) is snapshotted at the interval its own context set.
        owner = shares_log_with or self
        if owner is self:
            self.snapshot_policy: dict[type[Any], int] = dict(type(self).snapshotting_intervals)
        owner.snapshot_policy.update(type(self).snapshotting_intervals)
        self.snapshotting_intervals = owner.snapshot_policy  # type: ignore[misc]  # an instance's, shared
        super().__init__(env)
        self.save_listeners: list[Callable[[], None]] = []
        if shares_log_with is not None:  # one log, one way of sealing personal data
            self.metadata_mapper.personal = shares_log_with.metadata_mapper.personal

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        if self._log_owner is not None:
            return self._log_owner.factory
        return super().construct_factory(env)

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository (its cache settings from the env), loading in one query where it can."""
        library = super().construct_repository()
        return ChronicleRepository(
            event_store=library.event_store,
            snapshot_store=library.snapshot_store,
            cache_maxsize=self._cache_maxsize(),
            fastforward=library.fastforward,
            fastforward_skipping=library.fastforward_skipping,
            deepcopy_from_cache=library.deepcopy_from_cache,
        )

    def _cache_maxsize(self) -> int | None:
        value = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return int(value) if value else None

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save``, collecting an aggregate's events without two runtime protocol checks each."""
        processing = ProcessingEvent[UUID]()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing.events.extend(obj.collect_events())
                processing.aggregates[obj.id] = obj
            else:
                processing.collect_events(obj)
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

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
        """Save the aggregates atomically with the command's metadata; a lost race is a conflict.

        With an Idempotency-Key the key's stream is claimed in the same save, last, so that the
        position answered is the key's too; a race lost on the key is answered as in flight.
        """
        first = aggregates[0]
        claim = ctx.idempotency
        key = None
        if claim is not None and claim.claimed is None:
            key = IdempotencyKey.claim(
                scope=claim.scope,
                key=claim.key,
                fingerprint=claim.fingerprint,
                status=claim.status,
                result_id=first.id,
                result_version=first.version,
                now=ctx.now,
            )
        try:
            with recording_metadata(ctx):
                recordings = self.save(*aggregates, *([key] if key else []))
        except IntegrityError as error:
            if key is not None and self.existing([key.id]):
                raise IdempotencyKeyInFlight() from error
            raise ConcurrencyConflict() from error
        if claim is not None and key is not None:
            claim.claimed = key
        position = recordings[-1].notification.id if recordings else 0
        return CommandResult(id=first.id, version=first.version, position=position)

    def existing(self, ids: Collection[UUID]) -> set[UUID]:
        """Which of ``ids`` already have a stream: one query where the recorder answers in bulk."""
        bulk = getattr(self.recorder, "existing_originators", None)
        if bulk is not None:
            found: set[UUID] = bulk(ids)
            return found
        return {i for i in ids if self.recorder.select_events(i, limit=1)}

    def keep_answer(self, ctx: CommandContext, answer: RecordedAnswer) -> None:
        """Keep the answer of a command that claimed its Idempotency-Key, for the retries to get."""
        claim = ctx.idempotency
        if claim is None or claim.claimed is None:
            return
        claim.claimed.record_answer(answer, ctx.now)
        with recording_metadata(ctx):
            self.save(claim.claimed)

    def idempotency_key(self, scope: str, key: str) -> IdempotencyKey | None:
        """The key ``scope`` sent before, if a command committed with it."""
        try:
            return self.load(idempotency_key_id(scope, key), IdempotencyKey)
        except NotFound:
            return None

    def load(self, aggregate_id: UUID, kind: type[A], expected_version: int | None = None) -> A:
        """Get an aggregate of ``kind``; ``expected_version`` is the client's If-Match."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"No {_what(kind)} with id {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"No {_what(kind)} with id {aggregate_id}")
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatch(expected_version, aggregate.version)
        return aggregate


class EventLog(ChronicleApplication):
    """The one log itself: it owns the store that every context's application appends to, and
    reads it for followers and auditors (any stream, whichever context wrote it)."""

    # The applications sharing the log use this one's factory, and the library opens a snapshot
    # store only when that factory's env enables it: without this no context would ever snapshot
    # (each one's ``snapshotting_intervals`` still decides what it snapshots).
    is_snapshotting_enabled = True


def _what(kind: type[Any]) -> str:
    """``WorkOrder`` -> ``work order``: the aggregate's name as a not-found message says it."""
    name = kind.__name__
    return "".join(f" {c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
