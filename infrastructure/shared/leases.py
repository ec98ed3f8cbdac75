"""One active worker per projection across processes: PostgreSQL session-level advisory locks.

Each ``chronicle project`` process keeps one connection for its leases and asks, before every
batch, whether it holds the lock of that projection (``pg_try_advisory_lock``: it never waits).
A process that does not hold it stands by and asks again; the lock belongs to the session, so
when the process holding it dies (even by ``kill -9``) the server ends its session and the next
process that asks gets it, then goes on from the tracked position. The tracking row lock of each
batch (``runner.py``) is what keeps an event from being applied twice; the lease keeps the other
replicas idle instead of queueing on that row.

The lease connection names its process in ``application_name`` (``chronicle-project PID@HOST``),
so ``active_workers`` can say, from any process, who holds which projection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from sqlalchemy import Connection, text

log = logging.getLogger("chronicle.projections")

# The first half of every Chronicle advisory lock key: the projection leases' own namespace, and the
# rebuilds' (one rebuild of a projection at a time, across processes).
LEASE_NAMESPACE = 0x43485250  # "CHRP"
REBUILD_NAMESPACE = 0x43485242  # "CHRB"
APPLICATION_NAME_PREFIX = "chronicle-project "


def lease_key(name: str) -> int:
    """The second half of the projection's lock key: a stable 31-bit number from its name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def process_identity() -> str:
    """``PID@HOST`` of this process, as it names itself to PostgreSQL (at most 63 bytes in all)."""
    return f"{os.getpid()}@{socket.gethostname()}"[: 63 - len(APPLICATION_NAME_PREFIX)]


@dataclass(frozen=True)
class ActiveWorker:
    """The process that holds a projection's lease."""

    pid: int | None
    host: str


class Leases:
    """This process's advisory locks, one per projection, on one connection of their own."""

    def __init__(
        self,
        conninfo: str,
        *,
        namespace: int = LEASE_NAMESPACE,
        check_seconds: float = 2.0,
        what: str = "projection leases",
        application_name: str = APPLICATION_NAME_PREFIX,
        announce: bool = True,
    ) -> None:
        """``what`` names the locks in the log; ``announce``: log each lock taken (a projection's, a rebuild's;
        not the stream locks', taken for every command that charges)."""
        self._conninfo = conninfo
        self._namespace = namespace
        self._check_seconds = check_seconds
        self._what = what
        self._application_name = application_name
        self._announce = announce
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._held: set[str] = set()
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def holds(self, name: str) -> bool:
        """True when this process holds ``name``'s lease (taken now if it is free); never waits for it.
        A server that cannot be asked: False (stand by; the next call connects again)."""
        try:
            return self.take(name)
        except psycopg.Error:
            return False

    def take(self, name: str) -> bool:
        """``holds``, but a server that cannot be asked raises (``psycopg.Error``: an outage, 503 on the API)."""
        with self._lock:
            try:
                conn = self._connection()
                if name in self._held:
                    return True
                row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (self._namespace, lease_key(name))).fetchone()
            except psycopg.Error as error:
                self._lost(error)
                raise
            if row is not None and row[0]:
                self._held.add(name)
                if self._announce:
                    role = "the active worker" if self._namespace == LEASE_NAMESPACE else "the one rebuilding it"
                    log.info("projection %s: this process (%s) is now %s", name, process_identity(), role)
                return True
            return False

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        """The lease connection, opened when needed; every few seconds it proves it is still alive."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if self._held:
                log.warning("%s lost with their connection: %s", self._what, ", ".join(sorted(self._held)))
            self._held.clear()
            conn = self._conn = psycopg.connect(
                self._conninfo, autocommit=True, application_name=self._application_name + process_identity()
            )
            self._checked_at = time.monotonic()
        elif self._held and time.monotonic() - self._checked_at >= self._check_seconds:
            conn.execute("SELECT 1")
            self._checked_at = time.monotonic()
        return conn

    def _lost(self, error: BaseException) -> None:
        if self._held:
            log.warning("%s lost (%s): %s", self._what, type(error).__name__, ", ".join(sorted(self._held)))
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def release(self, name: str) -> None:
        """Give ``name``'s lease back (if held)."""
        with self._lock:
            if name not in self._held or self._conn is None:
                return
            self._held.discard(name)
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._namespace, lease_key(name)))
            except psycopg.Error as error:
                self._lost(error)

    def close(self) -> None:
        """Give every lease back (closing the session releases them)."""
        with self._lock:
            self._held.clear()
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def active_workers(conn: Connection, names: Sequence[str], namespace: int = LEASE_NAMESPACE) -> dict[str, ActiveWorker]:
    """Which process holds each of ``names``' lease (or, with ``REBUILD_NAMESPACE``, runs its rebuild),
    read from ``pg_locks`` (PostgreSQL only)."""
    if conn.dialect.name != "postgresql":
        return {}
    by_key = {lease_key(name): name for name in names}
    rows = conn.execute(
        text(
            "SELECT l.objid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :namespace AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"namespace": namespace},
    )
    found: dict[str, ActiveWorker] = {}
    for objid, application_name in rows:
        name = by_key.get(int(objid))
        if name is not None:
            found[name] = _worker(str(application_name or ""))
    return found


def _worker(application_name: str) -> ActiveWorker:
    identity = application_name.removeprefix(APPLICATION_NAME_PREFIX)
    pid, _, host = identity.partition("@")
    return ActiveWorker(pid=int(pid) if pid.isdigit() else None, host=host or "unknown")
