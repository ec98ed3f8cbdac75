"""Chronicle's PostgreSQL recorder: the library's, able to take very large atomic saves.

The library sends a save's events as one array parameter in psycopg's pipeline mode. Past a
few megabytes (about 14,000 small events, seen with psycopg 3.3's C implementation) that
pipeline stops making progress: the server waits in ClientRead for the rest of the message and
the client waits for the result, for ever. A bulk import of 10,000 work orders is one such
save. Large saves therefore go through a plain transaction instead, in statements of at most
``CHUNK`` events, with the same table lock, so positions stay gap-free and in commit order.

Lost connections are retried Chronicle's way rather than the library's (ten attempts, each of
which may wait the whole pool timeout): after a statement loses its connection, the pool's idle
connections are checked at once (a server restart leaves all of them dead, not just one), and the
statement is tried again on a fresh one until ``retry_seconds`` have passed; then the error goes
up, and the edge answers 503. Every statement the recorder sends goes through that one retry,
``existing_originators`` and the snapshots' recorder included. ``ChronicleFactory`` builds both
recorders and gives the pool's connection attempts the same timeout as its waits (the library
passes none to psycopg).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

log = logging.getLogger("chronicle.store")

F = TypeVar("F", bound=Callable[..., Any])

# Pause between two attempts, so that a pool that is reconnecting is not hammered.
RETRY_PAUSE_SECONDS = 0.05


def _library(method: Any) -> Callable[..., Any]:
    """The library's method without its own retry decorator."""
    return cast(Callable[..., Any], getattr(method, "__wrapped__", method))


def retry_lost_connections(method: F) -> F:
    """Retry ``method`` on a fresh connection when it lost its own, for at most the recorder's ``retry_seconds``."""

    @functools.wraps(method)
    def retrying(self: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                return method(self, *args, **kwargs)
            except (InterfaceError, OperationalError) as error:
                if time.monotonic() + RETRY_PAUSE_SECONDS >= deadline:
                    raise
                log.info("event store connection lost (%s); retrying on a fresh one", type(error).__name__)
                discard_broken_connections(self.datastore)
                time.sleep(RETRY_PAUSE_SECONDS)

    return cast(F, retrying)


def discard_broken_connections(datastore: PostgresDatastore) -> None:
    """Test the pool's idle connections now, replacing the dead ones (a restarted server leaves them all dead)."""
    with contextlib.suppress(Exception):
        datastore.pool.check()


# Every process that starts creates (or re-creates: CREATE OR REPLACE FUNCTION) the log's schema objects;
# two at once fail with "tuple concurrently updated". They take turns on this advisory lock instead.
SCHEMA_LOCK = "chronicle:schema"


def lock_schema(curs: Any) -> None:
    """Wait for the schema lock, held until the end of the cursor's transaction."""
    curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (SCHEMA_LOCK,))


class ChronicleRecorder(PostgresApplicationRecorder):
    """The library's application recorder, with a non-pipelined path for large saves and a bounded retry."""

    PIPELINE_LIMIT = 1000
    CHUNK = 1000
    # How long a statement is retried after losing its connection (the platform sets it from settings).
    retry_seconds = 2.0

    def _create_table(self, curs: Any) -> None:
        lock_schema(curs)  # several API workers, the projector and the CLI may start at the same moment
        super()._create_table(curs)

    @retry_lost_connections
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) <= self.PIPELINE_LIMIT:
            ids: Sequence[int] | None = _library(PostgresApplicationRecorder.insert_events)(
                self, stored_events, **kwargs
            )
            return ids
        notification_ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            for start in range(0, len(stored_events), self.CHUNK):
                chunk = stored_events[start : start + self.CHUNK]
                rows = [
                    self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                    for e in chunk
                ]
                curs.execute(self.insert_events_statement, (rows,))
                notification_ids += [row["notification_id"] for row in curs.fetchall()]
        return notification_ids

    @retry_lost_connections
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        events: Sequence[StoredEvent] = _library(PostgresApplicationRecorder.select_events)(self, *args, **kwargs)
        return events

    @retry_lost_connections
    def select_notifications(self, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        found: Sequence[Notification] = _library(PostgresApplicationRecorder.select_notifications)(
            self, *args, **kwargs
        )
        return found

    @retry_lost_connections
    def max_notification_id(self) -> int | None:
        head: int | None = _library(PostgresApplicationRecorder.max_notification_id)(self)
        return head

    @functools.cached_property
    def _existing_statement(self) -> bytes:
        """Composed once per recorder: every command that checks a unique key (an order number) asks it, and
        composing the identifiers again each time was a visible share of a request's Python."""
        statement = SQL("SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )
        return statement.as_bytes(None)

    @retry_lost_connections
    def existing_originators(self, originator_ids: Collection[UUID]) -> set[UUID]:
        """Which of ``originator_ids`` have at least one stored event, in one query."""
        if not originator_ids:
            return set()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._existing_statement, (list(originator_ids),))
            return {UUID(str(row["originator_id"])) for row in curs.fetchall()}


class ChronicleSnapshotRecorder(PostgresAggregateRecorder):
    """The library's recorder of snapshots, with the same bounded retry as the log's."""

    retry_seconds = 2.0

    def _create_table(self, curs: Any) -> None:
        lock_schema(curs)
        super()._create_table(curs)

    @retry_lost_connections
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids: Sequence[int] | None = _library(PostgresAggregateRecorder.insert_events)(self, stored_events, **kwargs)
        return ids

    @retry_lost_connections
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        events: Sequence[StoredEvent] = _library(PostgresAggregateRecorder.select_events)(self, *args, **kwargs)
        return events


class ChronicleFactory(PostgresFactory):
    """The library's PostgreSQL factory, building Chronicle's recorders, bounded in time.

    ``STORE_RETRY_SECONDS`` (seconds, from Chronicle's settings) bounds the retries; the library's
    ``POSTGRES_CONNECT_TIMEOUT`` bounds the wait for a pooled connection. The library builds its pool
    from five ``POSTGRES_*`` values (host, port, database, user, password); everything else the
    ``DATABASE_URL`` says to libpq (``sslmode``, ``sslrootcert``, ``application_name``,
    ``connect_timeout``, ...) arrives in ``POSTGRES_CONNECTION_PARAMETERS`` (a libpq connection
    string, see ``Settings.event_store_env``) and is handed to the pool before its first connection.
    """

    aggregate_recorder_class = ChronicleSnapshotRecorder
    application_recorder_class = ChronicleRecorder
    STORE_RETRY_SECONDS = "STORE_RETRY_SECONDS"
    POSTGRES_CONNECTION_PARAMETERS = "POSTGRES_CONNECTION_PARAMETERS"

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)  # the library always gives its pool a dict of connection kwargs
        kwargs.update(conninfo_to_dict(self.env.get(self.POSTGRES_CONNECTION_PARAMETERS) or ""))

    def _bounded(self, recorder: Any) -> Any:
        recorder.retry_seconds = float(self.env.get(self.STORE_RETRY_SECONDS) or 2.0)
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> Any:
        return self._bounded(super().aggregate_recorder(purpose))

    def application_recorder(self) -> Any:
        return self._bounded(super().application_recorder())
