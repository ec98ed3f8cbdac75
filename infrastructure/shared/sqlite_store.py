"""The embedded store's recorder: the library's SQLite recorder with the hash chain.

Each event's link (``infrastructure/shared/chain.py``) is computed in Python in the insert's own
transaction: the events are inserted first (which takes SQLite's write lock, so no other writer
can come between), then the link of the event before them is read and each new row is given
its link. A log written before the chain existed is chained once when the table is created
(``create_table``), recorded in ``<table>_chain_backfill``; later starts never chain again, so
an event inserted afterwards without a link stays without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DataError, Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from infrastructure.shared.chain import GENESIS, ChainedNotification, link


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite application recorder, keeping the hash chain in the insert transaction."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        table = self.events_table_name  # the library's own identifier, never a caller's text
        self.backfill_table_name = f"{table}_chain_backfill"
        self.insert_events_statement = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)"  # noqa: S608
        )
        self._previous_link_statement = f"SELECT chain FROM {table} WHERE rowid < ? ORDER BY rowid DESC LIMIT 1"  # noqa: S608
        self._set_link_statement = f"UPDATE {table} SET chain = ? WHERE rowid = ?"  # noqa: S608

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        return [
            *statements,
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name}_chain_backfill ("
            "only_row INTEGER PRIMARY KEY CHECK (only_row = 1), chained_rows INTEGER NOT NULL, "
            "head_position INTEGER, at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        ]

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        c.execute(f"PRAGMA table_info({self.events_table_name})")
        if "chain" not in {row[1] for row in c.fetchall()}:
            c.execute(f"ALTER TABLE {self.events_table_name} ADD COLUMN chain BLOB")
        c.execute(f"SELECT count(*) FROM {self.backfill_table_name}")  # noqa: S608 - our own table name
        if c.fetchone()[0]:
            return
        head, chained, last = GENESIS, 0, None
        c.execute(
            f"SELECT rowid, originator_id, originator_version, topic, state, chain "  # noqa: S608
            f"FROM {self.events_table_name} ORDER BY rowid"
        )
        rows = c.fetchall()
        for row in rows:
            position, stream, version, topic, state, stored = tuple(row)
            if stored is None:
                head = link(head, int(position), UUID(str(stream)), int(version), str(topic), bytes(state))
                c.execute(self._set_link_statement, (head, position))
                chained += 1
            else:
                head = bytes(stored)
            last = position
        c.execute(
            f"INSERT INTO {self.backfill_table_name} (only_row, chained_rows, head_position) VALUES (1, ?, ?)",  # noqa: S608
            (chained, last),
        )

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query, each notification with its chain link."""
        where: list[str] = []
        params: list[Any] = []
        if start is not None:
            where.append("rowid >= ?" if inclusive_of_start else "rowid > ?")
            params.append(start)
        if stop is not None:
            where.append("rowid <= ?")
            params.append(stop)
        if topics:
            where.append(f"topic IN ({','.join('?' * len(topics))})")
            params += list(topics)
        params.append(limit)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state, chain "  # noqa: S608 - our own names
            f"FROM {self.events_table_name}{condition} ORDER BY rowid LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                ChainedNotification(
                    id=row["rowid"],
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                    chain=bytes(row["chain"]) if row["chain"] is not None else None,
                )
                for row in c.fetchall()
            ]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        positions = list(super()._insert_events(c, stored_events, **kwargs) or [])
        if not positions:
            return positions
        c.execute(self._previous_link_statement, (positions[0],))
        row = c.fetchone()
        if row is not None and row[0] is None:
            # As on PostgreSQL: a log whose last event lost its link takes no more events (verify says where).
            raise DataError("the event before these has no chain link")
        head = GENESIS if row is None else bytes(row[0])
        for event, position in zip(stored_events, positions, strict=True):
            stream = event.originator_id if isinstance(event.originator_id, UUID) else UUID(str(event.originator_id))
            head = link(head, position, stream, event.originator_version, event.topic, event.state)
            c.execute(self._set_link_statement, (head, position))
        return positions
