"""Reads stored events together with their global positions (for auditors): a stream's, or at given positions.

The library's ``select_events`` answers without positions; the global position is the
notification id (PostgreSQL) or the rowid (SQLite) of the same row, read here directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


class StreamReader:
    """The events of one stream, in version order, each with its position in the global log."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder

    def read(self, originator_id: UUID) -> list[Notification]:
        recorder = self.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            pg_statement = SQL(
                "SELECT notification_id, originator_version, topic, state FROM {}.{} "
                "WHERE originator_id = %s ORDER BY originator_version"
            ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(pg_statement, (originator_id,))
                rows = [(r["notification_id"], r["originator_version"], r["topic"], bytes(r["state"])) for r in curs]
        elif isinstance(recorder, SQLiteApplicationRecorder):
            sqlite_statement = (
                f"SELECT rowid, originator_version, topic, state FROM {recorder.events_table_name} "  # noqa: S608
                "WHERE originator_id = ? ORDER BY originator_version"
            )
            with recorder.datastore.transaction(commit=False) as curs:
                curs.execute(sqlite_statement, [originator_id.hex])
                rows = [(r["rowid"], r["originator_version"], r["topic"], r["state"]) for r in curs.fetchall()]
        else:  # pragma: no cover - only the two stores Chronicle configures
            raise TypeError(f"Unsupported recorder {type(recorder).__name__}")
        return [
            Notification(id=pos, originator_id=originator_id, originator_version=version, topic=topic, state=state)
            for pos, version, topic, state in rows
        ]

    def at_positions(self, positions: Sequence[int]) -> list[Notification]:
        """The stored events at ``positions`` (those that exist), in log order."""
        if not positions:
            return []
        recorder = self.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            pg_statement = SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
                "WHERE notification_id = ANY(%s) ORDER BY notification_id"
            ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(pg_statement, (list(positions),))
                rows = [
                    (r["notification_id"], r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                    for r in curs
                ]
        elif isinstance(recorder, SQLiteApplicationRecorder):
            marks = ", ".join("?" * len(positions))
            sqlite_statement = (
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {recorder.events_table_name} "  # noqa: S608
                f"WHERE rowid IN ({marks}) ORDER BY rowid"
            )
            with recorder.datastore.transaction(commit=False) as curs:
                curs.execute(sqlite_statement, list(positions))
                rows = [
                    (r["rowid"], UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"])
                    for r in curs.fetchall()
                ]
        else:  # pragma: no cover - only the two stores Chronicle configures
            raise TypeError(f"Unsupported recorder {type(recorder).__name__}")
        return [
            Notification(id=pos, originator_id=stream, originator_version=version, topic=topic, state=state)
            for pos, stream, version, topic, state in rows
        ]
