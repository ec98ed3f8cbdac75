"""What the composition root opens once and hands to every context's wiring: the log and the read store."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from application.shared.application import ChronicleApplication, EventLog
from application.shared.commands import Clock
from application.shared.locks import KeyedLocks, LocalLocks
from infrastructure.shared.event_store import ChronicleRecorder
from infrastructure.shared.jobs import Jobs
from infrastructure.shared.locks import PostgresLocks
from infrastructure.shared.personal_data import PersonalDataKeys, PostgresKeyStore, SqlKeyStore, pii_keys
from infrastructure.shared.readstore import create_read_engine, read_position
from infrastructure.shared.runner import Announcer, LogTail, PositionBoard, Wakeups
from infrastructure.shared.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Platform:
    """The one log, the read store's engines, and the signals that followers and queries share."""

    settings: Settings
    clock: Clock
    env: dict[str, str]
    log: EventLog
    read_engine: Engine
    write_engine: Engine
    board: PositionBoard
    personal: PersonalDataKeys
    keys_engine: Engine | None = None  # the embedded store's own key file (PostgreSQL: the read engine)
    wakeups: Wakeups = field(default_factory=Wakeups)
    jobs: Jobs = field(init=False)  # the background tasks and sweeps the contexts' wiring adds
    tail: LogTail = field(init=False)  # the log's newest entries, read once for every runner of the process
    announcer: Announcer = field(init=False)  # the runners' progress, told to the other processes together

    def __post_init__(self) -> None:
        self.jobs = Jobs(self.clock)
        recorder = self.log.recorder
        self.tail = LogTail(
            lambda start, limit, until: recorder.select_notifications(start=start, limit=limit, stop=until),
            self.wakeups,
        )
        self.announcer = Announcer(self.write_engine)

    @functools.cached_property
    def query_engine(self) -> Engine:
        """The read engine's pool for queries: autocommit, so a query is its statements alone, with no BEGIN
        and ROLLBACK round trips around them (each statement reads its own snapshot at READ COMMITTED
        either way). Anything that writes uses ``read_engine``'s transactions."""
        return self.read_engine.execution_options(isolation_level="AUTOCOMMIT")

    @functools.cached_property
    def stream_locks(self) -> KeyedLocks:
        """Locks for commands that charge before they save (application/shared/locks.py): on PostgreSQL advisory
        locks every process shares (one connection of their own, opened at the first use); on the embedded
        store, this process's."""
        if self.settings.embedded:
            return LocalLocks()
        return PostgresLocks(self.postgres_conninfo())

    def joins_log(self, app: ChronicleApplication) -> None:
        """A context's application over the one log: its saves wake this process's followers at once."""
        app.save_listeners.append(self.wakeups.ring)

    def head_position(self) -> int:
        return self.log.recorder.max_notification_id() or 0

    def postgres_conninfo(self) -> str:
        return self.settings.postgres_conninfo()

    def close(self) -> None:
        locks = self.__dict__.get("stream_locks")
        if isinstance(locks, PostgresLocks):
            locks.close()
        self.log.close()
        self.read_engine.dispose()
        self.write_engine.dispose()
        if self.keys_engine is not None:
            self.keys_engine.dispose()


def open_platform(
    settings: Settings,
    clock: Clock,
    *,
    read_engine: Engine | None = None,
    write_engine: Engine | None = None,
) -> Platform:
    """Connect to the event store and the read store (the only I/O of wiring)."""
    env = settings.event_store_env()
    log = EventLog(env)
    # Connections beyond pool_size would be opened and closed per checkout: keep them all instead. A request
    # that finds them all busy waits at most pool_timeout_seconds (then 503), the budget stays fixed.
    reads = read_engine or create_read_engine(
        settings.read_store_url(),
        pool_size=settings.read_pool_size,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_seconds,
    )
    # The projection runners' batches: background work, so they wait for each other rather than time out.
    writes = write_engine or create_read_engine(settings.read_store_url(), pool_size=2, max_overflow=0, writer=True)

    def stored_position(name: str) -> int:
        with reads.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return read_position(conn, name)

    # The per-account keys of personal data: beside the events in PostgreSQL (through the read engine's
    # pool, no extra connections); on the embedded store in their own file, never in the read models'.
    keys_engine = None
    if settings.embedded:
        keys_engine = create_read_engine(
            f"sqlite+pysqlite:///{_private_file(settings.data_dir / 'keys.sqlite3')}", 1, writer=True
        )
    recorder = log.recorder
    keys = (
        PostgresKeyStore(recorder.datastore, reads, clock)
        if isinstance(recorder, ChronicleRecorder)
        else SqlKeyStore(keys_engine or reads, clock)
    )
    personal = PersonalDataKeys(settings.personal_data_key(), keys, settings.pii_key_cache_seconds)
    if isinstance(recorder, ChronicleRecorder):
        # A load of a stream brings its subject's key along: a command that seals a field needs no lookup.
        recorder.load_keys_with_streams(pii_keys.name, personal.prime)
    log.metadata_mapper.personal = personal
    return Platform(settings, clock, env, log, reads, writes, PositionBoard(stored_position), personal, keys_engine)


def _private_file(path: str | os.PathLike[str]) -> str:
    """``path``, created empty with mode 0600 if missing (the key file is nobody else's to read)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return os.fspath(path)
