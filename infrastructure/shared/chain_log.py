"""The hash chain as the database holds it: read a range of links, verify it, sign the head.

Works over Chronicle's recorder on either store: ``ChronicleRecorder`` (PostgreSQL, the
``chain`` column the append function fills) and ``ChainedSQLiteRecorder`` (the embedded store).
Reads go a page at a time by position (keyset paging), so a range of any length is verified in
constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

from domain.shared.errors import ChainBroken, CheckpointsUnavailable
from infrastructure.shared.chain import GENESIS, ChainRecord, Verdict, verify
from infrastructure.shared.checkpoints import Checkpoint, CheckpointSigner

PAGE = 1000
_COLUMNS = "originator_id, originator_version, topic, state, chain"


class ChainLog:
    """The stored chain of one log."""

    def __init__(self, recorder: ApplicationRecorder, page_size: int = PAGE) -> None:
        self.recorder = recorder
        self.page_size = page_size
        self._query: Callable[[str, list[Any]], list[tuple[Any, ...]]]
        if isinstance(recorder, PostgresApplicationRecorder):
            self._table: SQL | Composed = SQL("{}.{}").format(
                Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
            )
            self._position = "notification_id"
            self._placeholder = "%s"
            self._query = self._postgres
        elif isinstance(recorder, SQLiteApplicationRecorder):
            self._table = SQL(recorder.events_table_name)
            self._position = "rowid"
            self._placeholder = "?"
            self._query = self._sqlite
        else:
            raise TypeError(f"Unsupported recorder {type(recorder).__name__}")

    def _sql(self, template: str) -> str:
        composed = SQL(template).format(
            table=self._table, position=SQL(self._position), columns=SQL(_COLUMNS), p=SQL(self._placeholder)
        )
        return composed.as_string(None)

    def _postgres(self, statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SQL(statement), params)
            return [tuple(row.values()) for row in curs.fetchall()]

    def _sqlite(self, statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
        recorder = self.recorder
        assert isinstance(recorder, SQLiteApplicationRecorder)
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return [tuple(row) for row in curs.fetchall()]

    @staticmethod
    def _record(row: tuple[Any, ...]) -> ChainRecord:
        position, stream, version, topic, state, chain = row
        stream_id = stream if isinstance(stream, UUID) else UUID(str(stream))
        return ChainRecord(
            int(position), stream_id, int(version), str(topic), bytes(state), bytes(chain) if chain else None
        )

    def records(self, after: int = 0, until: int | None = None) -> Iterator[ChainRecord]:
        """The stored events with ``after < position <= until``, in order, a page at a time."""
        statement = self._sql(
            "SELECT {position}, {columns} FROM {table} WHERE {position} > {p} AND {position} <= {p} "
            "ORDER BY {position} LIMIT {p}"
        )
        position = after
        stop = until if until is not None else 2**63 - 1
        while True:
            rows = self._query(statement, [position, stop, self.page_size])
            for row in rows:
                yield self._record(row)
            if len(rows) < self.page_size:
                return
            position = int(rows[-1][0])

    def link_before(self, position: int) -> bytes:
        """The stored link of the last event before ``position`` (``GENESIS`` when there is none)."""
        statement = self._sql("SELECT chain FROM {table} WHERE {position} < {p} ORDER BY {position} DESC LIMIT 1")
        rows = self._query(statement, [position])
        if not rows:
            return GENESIS
        link = rows[0][0]
        # A missing link there is found by verifying the range that holds it; from here nothing matches.
        return bytes(link) if link else b""

    def head(self) -> tuple[int, bytes]:
        """The position and link of the last stored event (0 and ``GENESIS`` for an empty log)."""
        statement = self._sql("SELECT {position}, chain FROM {table} ORDER BY {position} DESC LIMIT 1")
        rows = self._query(statement, [])
        if not rows:
            return 0, GENESIS
        position, link = rows[0]
        return int(position), bytes(link) if link else b""

    def verify(self, start: int = 1, stop: int | None = None) -> Verdict:
        """Verify the stored events with ``start <= position <= stop`` against each other and the link before."""
        start = max(start, 1)
        return verify(self.records(after=start - 1, until=stop), self.link_before(start))

    def checkpoint(self, signer: CheckpointSigner, now: datetime) -> Checkpoint:
        """A signed checkpoint of the head as stored now."""
        position, link = self.head()
        if len(link) != len(GENESIS):
            raise ChainHeadMissing(position)
        return signer.sign(position, link, now)


class ChainHeadMissing(Exception):
    """The last stored event has no link: no checkpoint can vouch for it (verify the log to see why)."""

    def __init__(self, position: int) -> None:
        super().__init__(f"the event at position {position} has no chain link")
        self.position = position


class Checkpoints:
    """What auditors ask of the chain: the public key, a signed checkpoint of the head, a range verified."""

    def __init__(self, chain: ChainLog, signer: CheckpointSigner | None, now: Callable[[], datetime]) -> None:
        self.chain = chain
        self.signer = signer
        self.now = now

    def _signer(self) -> CheckpointSigner:
        if self.signer is None:
            raise CheckpointsUnavailable()
        return self.signer

    def public_key_pem(self) -> str:
        return self._signer().public_key_pem()

    def take(self) -> Checkpoint:
        """A signed checkpoint of the chain's head now."""
        signer = self._signer()
        try:
            return self.chain.checkpoint(signer, self.now())
        except ChainHeadMissing as error:
            raise ChainBroken(str(error)) from None

    def verify(self, start: int = 1, stop: int | None = None) -> Verdict:
        return self.chain.verify(start, stop)
