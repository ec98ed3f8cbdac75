"""Loading aggregates: the latest snapshot and the events after it in one round trip where the store can.

The library's repository asks the snapshot store for the latest snapshot, then the event store for the
events after it: two queries per load, the first one wasted for every stream shorter than its
snapshot interval (most of them). A recorder that offers ``select_snapshot_and_events`` answers both
in one statement; any other recorder (the embedded SQLite store) is asked the library's way.
Historical versions (``version=N``) and cached aggregates take the library's path unchanged.

A load opens no personal value: they are folded sealed and opened when the aggregate's attribute is
read (``application/shared/metadata.py``, ``defer_personal_state``).

A load also skips the library's per-event runtime protocol check (``isinstance`` against a
``runtime_checkable`` Protocol, about 25 µs an event): Chronicle's events are the library's own
``Aggregate.Event`` classes, which mutate by definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import deepcopy
from itertools import chain
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Cache, LRUCache, ProjectorFunction, Repository
from eventsourcing.persistence import AggregateRecorder, StoredEvent

from application.shared.metadata import MetadataMapper, defer_personal_state


class LoadsInOneTrip(Protocol):
    def select_snapshot_and_events(
        self, originator_id: UUID, snapshots: AggregateRecorder
    ) -> tuple[StoredEvent | None, Sequence[StoredEvent]]: ...


def mutate_each(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply ``events`` in order (the library's ``project_aggregate`` without its per-event protocol check)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class ChronicleRepository(Repository[UUID]):
    """The library's repository, loading the current state of a stream in one query where it can.

    With the aggregate cache on, a miss hands out the aggregate it built, never a copy of it: the
    library cached what it built and handed out a deep copy (about 170 µs for an account), which every
    stream loaded once (most commands update an aggregate nobody touched for a while) paid for
    nothing. A stream enters the cache at its second miss, as a copy taken before the command sees
    the aggregate; a hit is fast-forwarded from the store and copied, as before. So a command never
    holds the cached object, and whatever it does to its own (a refusal, a save that loses a race)
    leaves the cache as the store had it.
    """

    def __init__(self, event_store: Any, *, cache_maxsize: int | None = None, **kwargs: Any) -> None:
        super().__init__(event_store, cache_maxsize=cache_maxsize, **kwargs)
        # The streams that missed once lately: a second miss admits the stream into the cache.
        self._missed: Cache[UUID, bool] | None = None
        if cache_maxsize is not None:
            self._missed = LRUCache(maxsize=cache_maxsize) if cache_maxsize > 0 else Cache()

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = mutate_each,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        missed = self._missed
        if (
            self.cache is not None
            and missed is not None
            and version is None
            and deepcopy_from_cache
            and self.deepcopy_from_cache
            and aggregate_id not in self.cache.cache
        ):
            aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
            if aggregate_id in missed.cache:
                self.cache.put(aggregate_id, deepcopy(aggregate))  # before the command sees it
            else:
                missed.put(aggregate_id, True)
            return aggregate
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )

    def _reconstruct_aggregate(
        self,
        aggregate_id: UUID,
        version: int | None,
        projector_func: ProjectorFunction[Any, Any],
    ) -> Any:
        mapper = self.event_store.mapper
        if version is not None or not isinstance(mapper, MetadataMapper):
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        recorder = self.event_store.recorder
        snapshot: StoredEvent | None = None
        if self.snapshot_store is not None and hasattr(recorder, "select_snapshot_and_events"):
            snapshot, stored = cast(LoadsInOneTrip, recorder).select_snapshot_and_events(
                aggregate_id, self.snapshot_store.recorder
            )
        else:
            if self.snapshot_store is not None:
                latest = self.snapshot_store.recorder.select_events(aggregate_id, desc=True, limit=1)
                snapshot = latest[0] if latest else None
            gt = snapshot.originator_version if snapshot is not None else None
            stored = recorder.select_events(aggregate_id, gt=gt)
        # Personal values stay sealed through the fold; the aggregate opens them when they are read.
        to_domain = mapper.to_domain_event_deferred
        snapshots: Iterable[Any] = (to_domain(snapshot),) if snapshot is not None else ()
        aggregate = projector_func(None, chain(snapshots, (to_domain(s) for s in stored)))
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version None not found.")
        defer_personal_state(aggregate)
        return aggregate
