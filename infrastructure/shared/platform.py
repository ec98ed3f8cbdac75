"""What the composition root opens once and hands to every context's wiring: the log and the read store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from application.shared.application import ChronicleApplication, EventLog
from application.shared.commands import Clock
from infrastructure.shared.jobs import Jobs
from infrastructure.shared.readstore import create_read_engine, read_position
from infrastructure.shared.runner import PositionBoard, Wakeups
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
    wakeups: Wakeups = field(default_factory=Wakeups)
    jobs: Jobs = field(init=False)  # the background tasks and sweeps the contexts' wiring adds

    def __post_init__(self) -> None:
        self.jobs = Jobs(self.clock)

    def joins_log(self, app: ChronicleApplication) -> None:
        """A context's application over the one log: its saves wake this process's followers at once."""
        app.save_listeners.append(self.wakeups.ring)

    def head_position(self) -> int:
        return self.log.recorder.max_notification_id() or 0

    def postgres_conninfo(self) -> str:
        return self.settings.postgres_conninfo()

    def close(self) -> None:
        self.log.close()
        self.read_engine.dispose()
        self.write_engine.dispose()


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
        with reads.connect() as conn:
            return read_position(conn, name)

    return Platform(settings, clock, env, log, reads, writes, PositionBoard(stored_position))
