"""Keyed locks across processes (application/shared/locks.py) on PostgreSQL.

A key held by this process is a session-level advisory lock on one connection of the process's own
(``Leases``, as the projections' are: opened at the first use, never from a pool a command also needs, so
a holder never waits for a connection another holder keeps). The server lets the locks go when that
session ends, also when the process dies. Within the process, ``LocalLocks`` lets one thread at a time
ask for a key (a session may take its own advisory lock again); across processes a waiter asks again
every few milliseconds with ``pg_try_advisory_lock``, so the shared connection never waits on a lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from application.shared.locks import DEFAULT_WAIT_SECONDS, LocalLocks, conflict
from infrastructure.shared.leases import Leases

STREAM_LOCK_NAMESPACE = 0x43485353  # "CHSS"; the projections' leases are "CHRP", the rebuilds' "CHRB"
APPLICATION_NAME_PREFIX = "chronicle-locks "
FIRST_PAUSE_SECONDS = 0.005
LONGEST_PAUSE_SECONDS = 0.1


class PostgresLocks:
    """``KeyedLocks`` every process shares; a wait past ``wait_seconds`` is a ``ConcurrencyConflict``.
    A server that cannot be asked raises the driver's error (an outage: 503 on the API)."""

    def __init__(self, conninfo: str, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self._wait_seconds = wait_seconds
        self._local = LocalLocks(wait_seconds)
        self._leases = Leases(
            conninfo,
            namespace=STREAM_LOCK_NAMESPACE,
            what="stream locks",
            application_name=APPLICATION_NAME_PREFIX,
            announce=False,
        )

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        deadline = time.monotonic() + self._wait_seconds
        with self._local.hold(key):
            name, pause = str(key), FIRST_PAUSE_SECONDS
            while not self._leases.take(name):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise conflict()
                time.sleep(min(pause, left))
                pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
            try:
                yield
            finally:
                self._leases.release(name)

    def close(self) -> None:
        self._leases.close()
