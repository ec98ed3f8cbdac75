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
from psycopg.abc import Query
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from infrastructure.shared.chain import ChainedNotification

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


# Both append functions begin so: the table lock (positions commit in order), then the chain's head (the
# last event's link; a log whose last event lost its link is refused rather than extended).
_LOCK_AND_READ_HEAD = (
    "  {lock_timeout}\n"
    "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;\n"
    "  SELECT e.chain, e.notification_id INTO head, head_position FROM {schema}.{table} e\n"
    "    ORDER BY e.notification_id DESC LIMIT 1;\n"
    "  IF head_position IS NULL THEN head := '\\x' || repeat('00', 32);\n"
    "  ELSIF head IS NULL THEN\n"
    "    RAISE EXCEPTION 'the event at position % has no chain link', head_position\n"
    "      USING ERRCODE = 'data_corrupted';\n"
    "  END IF;\n"
)

# How the append functions are planned. PL/pgSQL plans the head read (it has no parameters) once per
# connection, at its first call, and keeps that plan: on a log of a few rows the planner picks a sequential
# scan and a sort, and a connection that appended first while the log was small (the group-commit leader
# keeps its connection for good) then scanned the whole log on every append, slower with every event
# (bench/analysis.md, recorder-append). Without sequential scans the plan is the index's, right at any size.
_PLAN_FOR_ANY_SIZE = "SET enable_seqscan = off"

# A stream's latest snapshot and the events after it: one round trip for a load instead of two.
_LOAD = (
    "WITH snap AS (SELECT originator_version, topic, state FROM {schema}.{snapshots} "
    "WHERE originator_id = %(id)s ORDER BY originator_version DESC LIMIT 1) "
    "SELECT true AS snapshot, originator_version, topic, state FROM snap "
    "UNION ALL "
    "SELECT false, originator_version, topic, state FROM {schema}.{events} "
    "WHERE originator_id = %(id)s AND originator_version > COALESCE((SELECT originator_version FROM snap), 0) "
    "ORDER BY 1 DESC, 2"
)
# The same load answering the stream's personal-data key row too (its id is its subject's), marked by a NULL
# ``snapshot`` (its ``state`` is the wrapped key, NULL once erased): the command that seals a field next finds
# the key in the cache instead of making a round trip of its own.
_LOAD_WITH_KEY = _LOAD.replace(
    "ORDER BY 1 DESC, 2",
    "UNION ALL SELECT NULL, 0, '', wrapped_key FROM {schema}.{keys} WHERE subject_id = %(id)s "
    "ORDER BY 1 DESC NULLS LAST, 2",
)


class ChronicleRecorder(PostgresApplicationRecorder):
    """The library's application recorder, appending in one round trip with a hash chain, and a bounded retry.

    An append is one prepared statement, ``SELECT <table>_append(ids, versions, topics, states)``:
    a server-side function (created once at start) takes the EXCLUSIVE table lock (the library's:
    positions commit in the order they are issued, so followers never pass over a gap that fills
    in later), reads the chain head, draws each event's position from the sequence in order,
    computes its link (``infrastructure/shared/chain.py``), inserts every event of the save with
    one INSERT, queues the NOTIFY and answers the positions (a save of one event calls the same
    function's scalar form, with no arrays to build). A (stream, version) already stored
    violates the primary key as before (``IntegrityError``, a 409 at the edge). A save larger than
    ``CHUNK`` events is sent as several such calls in one transaction (the lock is taken once, the
    positions stay consecutive).

    A log written before the chain existed is chained once at start (``create_table``): the
    ``<table>_chain_backfill()`` function links every event without a link, in position order,
    under the table lock, and records that it ran in ``<table>_chain_backfill``; it never runs
    again, so an event inserted later without a link stays without one and verification finds it.
    """

    CHUNK = 1000
    # How long a statement is retried after losing its connection (the platform sets it from settings).
    retry_seconds = 2.0

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # Statements are composed to bytes once: psycopg renders a ``Composed`` again at every execute (its
        # identifiers quoted anew, ~30 µs of a command's two statements), bytes go straight to its query cache.
        self._load_statements: dict[str, bytes] = {}
        # Where a load's key row goes (``load_keys_with_streams``), and the table it comes from.
        self._keys_sink: Callable[[UUID, bytes | None], None] | None = None
        self._keys_table = ""
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        self.append_function_name = f"{self.events_table_name}_append"
        self.backfill_function_name = f"{self.events_table_name}_chain_backfill"
        self.check_identifier_length(self.backfill_function_name)
        self.sql_create_statements.append(
            SQL("ALTER TABLE {schema}.{table} ADD COLUMN IF NOT EXISTS chain bytea").format(schema=schema, table=table)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{backfill} ("
                "only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), "
                "chained_rows bigint NOT NULL, head_position bigint, at timestamptz NOT NULL DEFAULT now())"
            ).format(schema=schema, backfill=Identifier(self.backfill_function_name))
        )
        self._notification_statements: dict[tuple[bool, bool, bool, bool], bytes] = {}
        # The hot path: one statement, composed once, prepared on each connection at its first use.
        self.append_statement: Query = (
            SQL("SELECT {schema}.{function}(%s::uuid[], %s::int8[], %s::text[], %s::bytea[]) AS positions")
            .format(schema=schema, function=Identifier(self.append_function_name))
            .as_bytes(None)
        )
        # A save of one event (most commands): the same function with scalar parameters, no arrays to build.
        self.append_one_statement: Query = (
            SQL("SELECT {schema}.{function}(%s::uuid, %s::int8, %s::text, %s::bytea) AS position")
            .format(schema=schema, function=Identifier(self.append_function_name))
            .as_bytes(None)
        )

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            lock_schema(curs)  # CREATE OR REPLACE FUNCTION by two processes at once: "tuple concurrently updated"
            for statement in self._chain_functions(curs):
                curs.execute(statement, prepare=False)
            curs.execute(
                SQL("SELECT {schema}.{function}() AS chained").format(
                    schema=Identifier(self.datastore.schema), function=Identifier(self.backfill_function_name)
                )
            )
            row = curs.fetchone()
        chained = int(row["chained"]) if row else 0
        if chained:
            log.info("hash chain: linked %d events stored before the chain existed", chained)

    def _chain_functions(self, curs: Any) -> list[Composed]:
        """The append and backfill functions, for this table and its sequence."""
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        qualified = f"{self.datastore.schema}.{self.events_table_name}"
        curs.execute("SELECT pg_get_serial_sequence(%s, 'notification_id') AS seq", (qualified,))
        row = curs.fetchone()
        sequence = str(row["seq"])
        names = {
            "schema": schema,
            "table": table,
            "sequence": Literal(sequence),
            "channel": Identifier(self.channel_name),
            # The library's POSTGRES_LOCK_TIMEOUT (0, the default, is the server's: no statement at all).
            "lock_timeout": SQL(
                f"PERFORM set_config('lock_timeout', '{int(self.datastore.lock_timeout)}s', true);"
                if self.datastore.lock_timeout
                else ""
            ),
            "append": Identifier(self.append_function_name),
            "backfill": Identifier(self.backfill_function_name),
            "link": Identifier(f"{self.events_table_name}_link"),
        }
        names["lock_and_read_head"] = SQL(_LOCK_AND_READ_HEAD).format(**names)
        names["plan"] = SQL(_PLAN_FOR_ANY_SIZE)
        link = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{link}(previous bytea, pos bigint, stream uuid, version bigint, "
            "topic text, state bytea) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
            "$$ SELECT sha256(previous || int8send(pos) || uuid_send(stream) || int8send(version) "
            "|| int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8') || state) $$"
        ).format(**names)
        append = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{append}(ids uuid[], versions bigint[], topics text[], "
            "states bytea[]) RETURNS bigint[] LANGUAGE plpgsql {plan} AS $body$\n"
            "DECLARE\n"
            "  head bytea; head_position bigint; n int := cardinality(ids);\n"
            "  positions bigint[] := array_fill(0::bigint, ARRAY[n]);\n"
            "  chains bytea[] := array_fill(NULL::bytea, ARRAY[n]);\n"
            "BEGIN\n{lock_and_read_head}"
            "  FOR i IN 1 .. n LOOP\n"
            "    positions[i] := nextval({sequence});\n"
            "    head := {schema}.{link}(head, positions[i], ids[i], versions[i], topics[i], states[i]);\n"
            "    chains[i] := head;\n"
            "  END LOOP;\n"
            "  INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state, notification_id, chain)\n"
            "    SELECT * FROM unnest(ids, versions, topics, states, positions, chains);\n"
            "  NOTIFY {channel};\n"
            "  RETURN positions;\n"
            "END $body$"
        ).format(**names)
        backfill = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{backfill}() RETURNS bigint LANGUAGE plpgsql AS $body$\n"
            "DECLARE\n"
            "  head bytea := '\\x' || repeat('00', 32); chained bigint := 0; last bigint; r record;\n"
            "BEGIN\n"
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;\n"
            "  IF EXISTS (SELECT FROM {schema}.{backfill}) THEN RETURN 0; END IF;\n"
            "  FOR r IN SELECT notification_id, originator_id, originator_version, topic, state, chain\n"
            "      FROM {schema}.{table} ORDER BY notification_id LOOP\n"
            "    IF r.chain IS NULL THEN\n"
            "      head := {schema}.{link}(head, r.notification_id, r.originator_id, r.originator_version, r.topic, "
            "r.state);\n"
            "      UPDATE {schema}.{table} SET chain = head WHERE notification_id = r.notification_id;\n"
            "      chained := chained + 1;\n"
            "    ELSE\n"
            "      head := r.chain;\n"
            "    END IF;\n"
            "    last := r.notification_id;\n"
            "  END LOOP;\n"
            "  INSERT INTO {schema}.{backfill} (chained_rows, head_position) VALUES (chained, last);\n"
            "  RETURN chained;\n"
            "END $body$"
        ).format(**names)
        append_one = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{append}(id uuid, version bigint, topic text, state bytea) "
            "RETURNS bigint LANGUAGE plpgsql {plan} AS $body$\n"
            "DECLARE head bytea; head_position bigint; pos bigint;\n"
            "BEGIN\n{lock_and_read_head}"
            "  pos := nextval({sequence});\n"
            "  INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state, notification_id, chain)\n"
            "    VALUES (id, version, topic, state, pos, {schema}.{link}(head, pos, id, version, topic, state));\n"
            "  NOTIFY {channel};\n"
            "  RETURN pos;\n"
            "END $body$"
        ).format(**names)
        return [link, append, append_one, backfill]

    def _create_table(self, curs: Any) -> None:
        lock_schema(curs)  # several API workers, the projector and the CLI may start at the same moment
        super()._create_table(curs)

    @retry_lost_connections
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn:
            if len(stored_events) <= self.CHUNK:
                return self._append(conn, stored_events)
            positions: list[int] = []
            with conn.transaction():
                for start in range(0, len(stored_events), self.CHUNK):
                    positions += self._append(conn, stored_events[start : start + self.CHUNK])
            return positions

    def _append(self, conn: Any, events: Sequence[StoredEvent]) -> list[int]:
        """One call of the append function (its own transaction unless ``conn`` is in one)."""
        if len(events) == 1:
            event = events[0]
            one = conn.execute(
                self.append_one_statement,
                (event.originator_id, event.originator_version, event.topic, event.state),
                prepare=True,
            )
            return [one.fetchone()["position"]]
        cursor = conn.execute(
            self.append_statement,
            (
                [e.originator_id for e in events],
                [e.originator_version for e in events],
                [e.topic for e in events],
                [e.state for e in events],
            ),
            prepare=True,
        )
        positions: list[int] = cursor.fetchone()["positions"]
        return positions

    @retry_lost_connections
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        events: Sequence[StoredEvent] = _library(PostgresApplicationRecorder.select_events)(self, *args, **kwargs)
        return events

    @retry_lost_connections
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query, each notification with its chain link; one statement per shape, composed once."""
        shape = (start is not None, inclusive_of_start, stop is not None, bool(topics))
        statement = self._notification_statements.get(shape)
        if statement is None:
            statement = self._notification_statements[shape] = self._notification_statement(*shape)
        params: list[Any] = []
        if start is not None:
            params.append(start)
        if stop is not None:
            params.append(stop)
        if topics:
            params.append(list(topics))
        params.append(limit)
        # Binary tuple rows: a catch-up reads every event of the log through here (a dict per row and the bytea's
        # hex text showed in its profile).
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                ChainedNotification(
                    id=position,
                    originator_id=stream,
                    originator_version=version,
                    topic=topic,
                    state=bytes(state),
                    chain=bytes(chain) if chain is not None else None,
                )
                for position, stream, version, topic, state, chain in curs.fetchall()
            ]

    def _notification_statement(self, start: bool, inclusive: bool, stop: bool, topics: bool) -> bytes:
        where = []
        if start:
            where.append(SQL("notification_id >= %s") if inclusive else SQL("notification_id > %s"))
        if stop:
            where.append(SQL("notification_id <= %s"))
        if topics:
            where.append(SQL("topic = ANY(%s)"))
        condition = SQL(" WHERE ") + SQL(" AND ").join(where) if where else SQL("")
        return (
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state, chain FROM {schema}.{table}"
                "{condition} ORDER BY notification_id LIMIT %s"
            )
            .format(
                schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name), condition=condition
            )
            .as_bytes(None)
        )

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

    def load_keys_with_streams(self, table: str, sink: Callable[[UUID, bytes | None], None]) -> None:
        """From now on a load also reads the stream's row of the personal-data key ``table`` (a subject's
        key is keyed by its stream's id), if there is one, and hands it to ``sink`` (wrapped key, or None
        once erased) before it answers."""
        self._keys_table, self._keys_sink = table, sink
        self._load_statements.clear()

    def load_statement(self, snapshots: PostgresAggregateRecorder) -> bytes:
        """The load's one statement with ``snapshots`` beside the log (parameter ``id``, the stream), composed once."""
        statement = self._load_statements.get(snapshots.events_table_name)
        if statement is None:
            statement = self._load_statements[snapshots.events_table_name] = (
                SQL(_LOAD_WITH_KEY if self._keys_sink is not None else _LOAD)
                .format(
                    schema=Identifier(self.datastore.schema),
                    snapshots=Identifier(snapshots.events_table_name),
                    events=Identifier(self.events_table_name),
                    keys=Identifier(self._keys_table),
                )
                .as_bytes(None)
            )
        return statement

    @retry_lost_connections
    def select_snapshot_and_events(
        self, originator_id: UUID, snapshots: PostgresAggregateRecorder
    ) -> tuple[StoredEvent | None, Sequence[StoredEvent]]:
        """The stream's latest snapshot (if any) and its events after it, in one prepared statement."""
        statement = self.load_statement(snapshots)
        # Rows as tuples (snapshot, originator_version, topic, state): no dict of column names built per row.
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, {"id": originator_id}, prepare=True)
            rows = curs.fetchall()
        snapshot: StoredEvent | None = None
        events: list[StoredEvent] = []
        for is_snapshot, version, topic, state in rows:
            if is_snapshot is None:  # the key row (``_LOAD_WITH_KEY``)
                if self._keys_sink is not None:
                    self._keys_sink(originator_id, None if state is None else bytes(state))
                continue
            stored = StoredEvent(
                originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state)
            )
            if is_snapshot:
                snapshot = stored
            else:
                events.append(stored)
        return snapshot, events

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
        self._recorders: list[Any] = []

    def _bounded(self, recorder: Any) -> Any:
        recorder.retry_seconds = float(self.env.get(self.STORE_RETRY_SECONDS) or 2.0)
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> Any:
        return self._bounded(super().aggregate_recorder(purpose))

    def application_recorder(self) -> Any:
        recorder = self._bounded(super().application_recorder())
        self._recorders.append(recorder)
        return recorder

    def close(self) -> None:
        # A recorder that keeps a connection (group commit's leader) gives it back before the pool closes.
        for recorder in self._recorders:
            release = getattr(recorder, "release_writer", None)
            if release is not None:
                release()
        super().close()
