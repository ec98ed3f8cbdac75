"""Keyed locks across processes (application/shared/locks.py): a PostgreSQL advisory lock per key, taken
in a transaction of its own on a pooled connection and held until the block ends. The server lets it go
when the transaction ends, and when the process holding it dies (its connection closes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from psycopg.errors import LockNotAvailable
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from application.shared.locks import DEFAULT_WAIT_SECONDS
from domain.shared.errors import ConcurrencyConflict

STREAM_LOCK_NAMESPACE = 0x43485353  # "CHSS"; the leases' are "CHRP" and "CHRB"


def stream_lock_key(key: UUID) -> int:
    """The second half of the lock's key: the id's first 32 bits, signed (the server's int4). Two ids that
    share them only take turns for nothing."""
    return int.from_bytes(key.bytes[:4], "big", signed=True)


class PostgresLocks:
    """``KeyedLocks`` every process shares; a wait past ``wait_seconds`` is a ``ConcurrencyConflict``."""

    def __init__(self, engine: Engine, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self._engine = engine
        self._lock_timeout = f"{max(1, int(wait_seconds * 1000))}ms"

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        with self._engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT set_config('lock_timeout', :timeout, true)"), {"timeout": self._lock_timeout})
            try:
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
                    {"namespace": STREAM_LOCK_NAMESPACE, "key": stream_lock_key(key)},
                )
            except OperationalError as error:
                if isinstance(error.orig, LockNotAvailable):
                    raise ConcurrencyConflict("Another change of this stream is being made; retry") from None
                raise
            yield
