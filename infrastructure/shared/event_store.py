"""Chronicle's PostgreSQL recorder: the library's, able to take very large atomic saves.

The library sends a save's events as one array parameter in psycopg's pipeline mode. Past a
few megabytes (about 14,000 small events, seen with psycopg 3.3's C implementation) that
pipeline stops making progress: the server waits in ClientRead for the rest of the message and
the client waits for the result, for ever. A bulk import of 10,000 work orders is one such
save. Large saves therefore go through a plain transaction instead, in statements of at most
``CHUNK`` events, with the same table lock, so positions stay gap-free and in commit order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier


class ChronicleRecorder(PostgresApplicationRecorder):
    """The library's application recorder, with a non-pipelined path for large saves."""

    PIPELINE_LIMIT = 1000
    CHUNK = 1000

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) <= self.PIPELINE_LIMIT:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
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

    def existing_originators(self, originator_ids: Collection[UUID]) -> set[UUID]:
        """Which of ``originator_ids`` have at least one stored event, in one query."""
        if not originator_ids:
            return set()
        statement = SQL("SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(originator_ids),))
            return {UUID(str(row["originator_id"])) for row in curs.fetchall()}
