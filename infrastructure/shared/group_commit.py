"""Group commit for the one log: concurrent commands share one insert transaction and one commit.

The library's recorder takes an EXCLUSIVE lock on ``chronicle_events`` in every insert transaction,
so that positions commit in the order they are issued (a follower reading ``position > tracked``
never passes over an event committed later). Concurrent commands therefore queue on that lock,
each paying its own round trips and its own commit (WAL flush).

``GroupCommitRecorder`` keeps the lock and the ordering, and lets the waiting commands share the
work: a caller that finds no write in progress becomes the leader, takes every insert queued so
far, writes them with one call of the recorder's append function (one round trip: lock, chain,
insert, NOTIFY, commit) and hands each caller its own notification ids. Callers that arrive
meanwhile queue up for the next group. Since only one leader writes at a time, the leaders share one
connection kept from the pool (a checkout and return per group cost more than the append itself).

An optimistic-concurrency conflict of one caller must not fail the others: when the group's
INSERT violates a unique key, the group is written again: under the lock the conflicting callers
are found before inserting and get ``IntegrityError`` (which ``ChronicleApplication.record`` turns
into ``ConcurrencyConflict``), the others commit at consecutive positions. As with the library, the
rolled-back first attempt leaves unused positions behind; positions stay increasing and commit in order.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from infrastructure.shared.event_store import ChronicleRecorder, retry_lost_connections
from infrastructure.shared.metrics import APPEND_GROUP_SIZE, APPEND_LATENCY

# psycopg's errors as the event store's (what the library's get_connection raises), most specific first.
_STORE_ERRORS: tuple[tuple[type[psycopg.Error], type[Exception]], ...] = (
    (psycopg.InterfaceError, persistence.InterfaceError),
    (psycopg.OperationalError, persistence.OperationalError),
    (psycopg.DataError, persistence.DataError),
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
)


def _as_store_error(error: psycopg.Error) -> Exception:
    for psycopg_kind, store_kind in _STORE_ERRORS:
        if isinstance(error, psycopg_kind):
            return store_kind(str(error))
    return persistence.PersistenceError(str(error))


class _Insert:
    """One caller's events, what became of them, and (while its caller waits) the lock that wakes it."""

    __slots__ = ("done", "error", "events", "ids", "wake")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: list[int] = []
        self.error: Exception | None = None
        self.done = False
        self.wake: Any = None  # held while the caller waits; released when its group is written or it is to lead


class GroupCommitRecorder(ChronicleRecorder):
    """Chronicle's recorder, whose concurrent ``insert_events`` calls commit together.

    A group is written through ``ChronicleRecorder.insert_events``, so a large group (or one bulk
    import) takes its non-pipelined path.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # Each waiting caller is woken alone, when its own group is written or when it is to lead the next one:
        # a condition's notify_all woke every waiter after each group, and those queued for the next group
        # went back to sleep (with 16 writers, ~15 wake-ups and GIL hand-offs for nothing per group).
        self._lock = threading.Lock()
        self._queue: list[_Insert] = []
        self._writing = False
        # The leader's own connection, taken from the pool once and kept: only one leader writes at a time,
        # and a checkout and return per group cost more than the append itself (measured: ~0.3 ms).
        self._writer: psycopg.Connection[Any] | None = None

    @property
    def queued(self) -> int:
        """How many callers wait for the next group (for tests and diagnostics)."""
        with self._lock:
            return len(self._queue)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # The event store always passes ``tracking`` (None for commands); anything more keeps the library's way.
        tracked = any(value is not None for value in kwargs.values())
        if tracked or not stored_events:
            # Tracking records (process applications) are written alone.
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        mine = _Insert(stored_events)
        began = time.perf_counter()
        with self._lock:
            self._queue.append(mine)
            if self._writing:
                wake = mine.wake = threading.Lock()
                wake.acquire()
            else:
                wake = None
                self._writing = True
                group, self._queue = self._queue, []
        if wake is not None:
            wake.acquire()  # until its group is written (done) or the leader before hands it the next group
            if not mine.done:
                with self._lock:
                    group, self._queue = self._queue, []  # itself first: the callers in the order they came
        if not mine.done:
            self._lead(group)
        APPEND_LATENCY.observe(time.perf_counter() - began)
        if mine.error is not None:
            raise mine.error
        return mine.ids

    def _lead(self, group: list[_Insert]) -> None:
        """Write ``group``, then wake its callers and hand the callers queued meanwhile to the first of them."""
        try:
            self._write(group)
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._writing = False
            for insert in group:
                if insert.wake is not None:
                    insert.wake.release()
            if following is not None:
                following.wake.release()  # it leads: writing stays on, no other caller can take the group

    def _write(self, group: list[_Insert]) -> None:
        APPEND_GROUP_SIZE.observe(len(group))
        try:
            try:
                events = [event for insert in group for event in insert.events]
                ids = self._insert_as_leader(events)
            except IntegrityError as error:
                if len(group) == 1:
                    group[0].error = error
                else:
                    self._write_each(group)
            else:
                start = 0
                for insert in group:
                    insert.ids = ids[start : start + len(insert.events)]
                    start += len(insert.events)
        except Exception as error:  # nothing of the group committed: every caller hears of it
            for insert in group:
                insert.ids = []
                insert.error = _own_copy(error)
        finally:
            for insert in group:
                insert.done = True

    def _write_each(self, group: list[_Insert]) -> None:
        """The group again, in one transaction: conflicts fail only their caller, the rest commit together.

        Under the table lock no other writer can insert, so the (stream, version) pairs already stored
        are exactly the ones that would conflict: those callers (and a caller repeating a pair an
        earlier caller of the group takes) fail before anything is inserted. The rest are inserted
        with a savepoint each (in case of a violation the check cannot see) and, since nothing was
        rolled back, take consecutive positions.
        """
        with self._leader_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            taken = self._stored_versions(curs, [event for insert in group for event in insert.events])
            for insert in group:
                wanted = {(event.originator_id, event.originator_version) for event in insert.events}
                if wanted & taken:
                    insert.ids = []
                    insert.error = IntegrityError("an event at this stream version is already stored")
                    continue
                try:
                    with conn.transaction():
                        insert.ids = self._append(conn, insert.events)
                except psycopg.IntegrityError as error:
                    insert.ids = []
                    insert.error = IntegrityError(str(error))
                else:
                    taken |= wanted

    @retry_lost_connections
    def _insert_as_leader(self, events: Sequence[StoredEvent]) -> list[int]:
        """``ChronicleRecorder.insert_events`` on the leader's connection, retried as every statement is."""
        with self._leader_connection() as conn:
            if len(events) <= self.CHUNK:
                return self._append(conn, events)
            positions: list[int] = []
            with conn.transaction():
                for start in range(0, len(events), self.CHUNK):
                    positions += self._append(conn, events[start : start + self.CHUNK])
            return positions

    @contextlib.contextmanager
    def _leader_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The leader's kept connection (taken from the pool when missing); a lost one goes back to be discarded."""
        try:
            conn = self._writer
            if conn is None or conn.closed or conn.broken:
                self.release_writer()
                conn = self._writer = self.datastore.pool.getconn()
            yield conn
        except psycopg.Error as error:
            if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
                self.release_writer()
            raise _as_store_error(error) from error

    def release_writer(self) -> None:
        """Give the leader's connection back to the pool (which discards it if broken); at close, and when lost."""
        conn, self._writer = self._writer, None
        if conn is not None:
            with contextlib.suppress(Exception):
                self.datastore.pool.putconn(conn)

    def _stored_versions(self, curs: Any, events: Sequence[StoredEvent]) -> set[tuple[Any, int]]:
        """Which (stream, version) pairs of ``events`` the log holds already, in one query."""
        statement = SQL(
            "SELECT e.originator_id, e.originator_version FROM {schema}.{table} e "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(id, version) "
            "ON e.originator_id = w.id AND e.originator_version = w.version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        curs.execute(
            statement, ([event.originator_id for event in events], [event.originator_version for event in events])
        )
        return {(row["originator_id"], int(row["originator_version"])) for row in curs.fetchall()}


def _own_copy(error: Exception) -> Exception:
    """The same kind of error for each caller, so that threads never raise (and mutate) one shared object."""
    try:
        copy = type(error)(*error.args)
    except Exception:
        return error
    copy.__cause__ = error
    return copy
