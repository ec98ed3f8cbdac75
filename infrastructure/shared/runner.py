"""Projection runners: follow the global log and fold it into read models, batch by batch.

Each batch runs in one read-store transaction that locks the follower's tracking row,
applies the batch's events through the follower's handlers, and writes the new position:
rows and position commit together, so a worker killed mid-batch resumes where the last
commit left it, with no row lost and none applied twice. The row lock also serializes
workers (replicas, or a rebuild running beside a live worker) on the same follower.

The library's default insert path takes a table lock, so positions are committed in order
and reading ``position > tracked`` never passes over an event committed later.

A follower that cannot apply an event stops there, alone and visibly: the batch is retried one
event per transaction, so the events before the bad one commit and the position stops just
before it; the failure (position, error class, our words) is written beside the tracking row
for every process to see, and the runner retries with capped exponential backoff. The first
batch that gets past the event deletes the failure in the same transaction as its position.
An outage (a store that cannot be reached) is not a failure of the follower: it is retried the
same way, and the follower resumes by itself when the store is back.

Across replicas one worker per follower is active: a runner given a ``lease`` (``leases.py``: a
PostgreSQL advisory lock) applies batches only while it holds it and otherwise stands by, asking
again every ``standby_seconds``. A follower's ``fingerprint`` names the code that builds its read
model; it is recorded when the model is built from zero, so a rebuild can tell whether the code changed.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.persistence import Notification
from psycopg import sql
from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, literal, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from application.shared.application import ChronicleApplication
from application.shared.follower import EventHandlers
from infrastructure.shared.metrics import PROJECTION_BATCH_LATENCY, PROJECTION_ENTRIES, PROJECTION_FAILURES
from infrastructure.shared.outages import store_unavailable
from infrastructure.shared.readstore import (
    BatchView,
    Failure,
    claim_position,
    clear_failure,
    projection_failures,
    projection_tracking,
    record_failure,
    write_fingerprint,
    write_position,
)

log = logging.getLogger("chronicle.projections")

PROGRESS_CHANNEL = "chronicle_projections"


@dataclass
class Follower:
    """A named follower of the log: handlers, the view they write to, and the tables it owns."""

    handlers: EventHandlers[Any]
    view_factory: Callable[[Connection], BatchView] | None = None
    tables: tuple[Table, ...] = ()

    @property
    def name(self) -> str:
        return self.handlers.name

    @property
    def fingerprint(self) -> str:
        """A digest of the code that builds this read model: the handlers' and the view's source and the
        tables' DDL (a change to any of them is a new fingerprint; so is a handlers ``version`` bump)."""
        digest = hashlib.sha256()
        handlers = type(self.handlers)
        digest.update(str(getattr(handlers, "version", "")).encode())
        for code in (handlers, self.view_factory):
            digest.update(_source(code).encode())
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        for table in self.tables:
            digest.update(str(CreateTable(table).compile(dialect=dialect)).encode())
            for index in sorted(table.indexes, key=lambda index: str(index.name)):
                digest.update(str(CreateIndex(index).compile(dialect=dialect)).encode())
        return digest.hexdigest()[:32]


def _source(code: object) -> str:
    """The source of a class or function, or its qualified name where the source cannot be read."""
    if code is None:
        return ""
    try:
        return inspect.getsource(code)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return f"{getattr(code, '__module__', '')}.{getattr(code, '__qualname__', repr(code))}"


class PositionBoard:
    """Where each follower has got to, for queries that wait to read their own writes."""

    def __init__(self, read_position_from_store: Callable[[str], int], recheck_seconds: float = 0.1) -> None:
        self._read = read_position_from_store
        self._recheck = recheck_seconds
        self._positions: dict[str, int] = {}
        self._changed = threading.Condition()

    def advance(self, name: str, position: int) -> None:
        with self._changed:
            if position > self._positions.get(name, 0):
                self._positions[name] = position
                self._changed.notify_all()

    def forget(self, name: str) -> None:
        """A rebuild starts ``name`` again from zero."""
        with self._changed:
            self._positions.pop(name, None)

    def known(self, name: str) -> int:
        return self._positions.get(name, 0)

    def wait(self, name: str, position: int, timeout: float) -> bool:
        """True once ``name`` has reached ``position``; False past ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        if self.known(name) >= position:
            return True
        if timeout <= 0 or name not in self._positions:
            # No time to be woken by a notice, or none heard of ``name`` yet in this process: ask the store first.
            # Otherwise the notices come first (the runners here, the listener from elsewhere), the store only
            # after the recheck interval: a waiter then makes no round trip while the board keeps up.
            self.advance(name, self._read(name))
        next_check = time.monotonic() + self._recheck
        with self._changed:
            while self._positions.get(name, 0) < position:
                now = time.monotonic()
                if now >= deadline:
                    return False
                if now >= next_check:
                    # A notification can be missed (a listener reconnecting): look at the store too.
                    self._changed.release()
                    try:
                        stored = self._read(name)
                    finally:
                        self._changed.acquire()
                    if stored > self._positions.get(name, 0):
                        self._positions[name] = stored
                        continue
                    next_check = now + self._recheck
                self._changed.wait(min(deadline, next_check) - now)
        return True


class TooManyWaiting(Exception):
    """Every waiting place is taken: the caller is refused at once instead of queueing behind the others."""


class Freshness:
    """Read-your-writes for queries: wait, for a bounded time, until a projection has reached a position.

    At most ``max_waiting`` callers wait at once (0: no bound); a waiter holds a request thread, so
    the bound keeps waiting callers from starving the others.
    """

    def __init__(self, board: PositionBoard, timeout_seconds: float, max_waiting: int = 0) -> None:
        self.board = board
        self.timeout_seconds = timeout_seconds
        self.max_waiting = max_waiting
        self.waiting = 0
        self._count = threading.Lock()

    def reached(self, name: str, position: int) -> bool:
        """True once ``name`` has reached ``position``; ``TooManyWaiting`` when it would wait beyond the bound."""
        if self.board.known(name) >= position:
            return True
        with self._count:
            if self.max_waiting and self.waiting >= self.max_waiting:
                raise TooManyWaiting()
            self.waiting += 1
        try:
            return self.board.wait(name, position, self.timeout_seconds)
        finally:
            with self._count:
                self.waiting -= 1


@dataclass
class Wakeups:
    """Fans one 'new events were written' signal out to every runner of the process.

    ``generation`` counts the rings: a read of the log that began at generation ``g`` holds every entry
    whose ring came before it (an entry is committed before it rings), so a runner that has seen rings up
    to ``g`` may use that read instead of making its own (``LogTail``)."""

    _events: list[threading.Event] = field(default_factory=list)
    generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new(self) -> threading.Event:
        wake = threading.Event()
        self._events.append(wake)
        return wake

    def ring(self) -> None:
        with self._lock:
            self.generation += 1
        for wake in self._events:
            # A set event is left as it is: setting it again takes its lock and wakes nobody (every save rings
            # every runner; one that has not cleared its event since the last ring reads after clearing it).
            if not wake.is_set():
                wake.set()


class LogTail:
    """The newest entries of the log as this process last read them, shared by its runners.

    Every save wakes every follower of the process; each would read the same few new entries. A read that
    reached the head (fewer entries than asked for) is kept with the ring generation it began at; a runner
    that has seen no ring since then, and asks for a start at or after that read's start, gets the read's
    entries from its start instead of a round trip: they are all the log held then, and anything committed
    later rings again. Reads that stop at a position, or come back full, are never kept."""

    def __init__(self, select: Callable[[int, int, int | None], Sequence[Notification]], wakeups: Wakeups) -> None:
        self._select = select
        self._wakeups = wakeups
        self._kept: tuple[int, int, int, Sequence[Notification]] | None = None  # generation, start, limit, entries

    @property
    def generation(self) -> int:
        return self._wakeups.generation

    def read(self, start: int, limit: int, until: int | None, seen: int | None) -> Sequence[Notification]:
        """The entries from ``start`` (at most ``limit``, none past ``until``), for a runner that has seen the
        rings up to generation ``seen`` (None: read the store)."""
        kept = self._kept
        if kept is not None and seen is not None and until is None:
            generation, first, size, entries = kept
            if generation >= seen and size == limit and first <= start:
                return entries[bisect.bisect_left(entries, start, key=_position) :]
        generation = self._wakeups.generation
        entries = self._select(start, limit, until)
        if until is None and len(entries) < limit:
            self._kept = (generation, start, limit, entries)
        return entries


class Announcer:
    """Tells the other processes how far this process's followers have got: whatever several runners have to
    announce at once goes out in one round trip (one caller sends, the others leave theirs with it).

    Only what runners pass over in memory goes this way; a batch that writes a read model sends its own notice
    inside its transaction. No-op on the embedded store (one process)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()
        self._sending = False
        self._statement = text(
            "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
        ).bindparams(channel=PROGRESS_CHANNEL)

    def announce(self, name: str, position: int) -> None:
        if self._engine.dialect.name != "postgresql":
            return
        with self._lock:
            if position > self._pending.get(name, 0):
                self._pending[name] = position
            if self._sending:
                return  # the caller sending now takes it with the next round trip
            self._sending = True
        try:
            while True:
                with self._lock:
                    pending, self._pending = self._pending, {}
                    if not pending:
                        self._sending = False
                        return
                payloads = [f"{name}:{position}" for name, position in pending.items()]
                with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(self._statement, {"payloads": payloads})
        except BaseException:
            with self._lock:
                self._sending = False
            raise


def _position(notification: Notification) -> int:
    return notification.id


class EventNotApplied(Exception):
    """A follower's batch (positions ``first`` to ``last``) could not be applied, for a reason other than an outage."""

    def __init__(self, name: str, first: int, last: int, event_type: str, cause: BaseException) -> None:
        self.name = name
        self.first = first
        self.last = last
        self.event_type = event_type
        self.cause = cause
        super().__init__(self.message)

    @property
    def error_type(self) -> str:
        """The class of what went wrong (the driver's own error when the read store refused a write)."""
        origin = getattr(self.cause, "orig", None) or self.cause
        kind = type(origin)
        return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"

    @property
    def message(self) -> str:
        """Our words only: no SQL and no value of the event reach the operators' screens."""
        where = f"position {self.first}" if self.first == self.last else f"positions {self.first}-{self.last}"
        return f"{self.name} could not apply {self.event_type} at {where} ({type(self.cause).__name__})"


class ProjectionRunner:
    """Runs one follower over the application's log."""

    def __init__(
        self,
        app: ChronicleApplication,
        engine: Engine,
        follower: Follower,
        *,
        board: PositionBoard | None = None,
        wake: threading.Event | None = None,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retry_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        lease: Callable[[], bool] | None = None,
        standby_seconds: float = 1.0,
        announce: bool = True,
        read_ahead: bool = True,
        tail: LogTail | None = None,
        announcer: Announcer | None = None,
        pass_over_seconds: float = 1.0,
        gather_seconds: float = 0.0,
    ) -> None:
        self.app = app
        self.engine = engine
        self.follower = follower
        self.board = board
        self.wake = wake or threading.Event()
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        # Held by this process: it may apply batches (None: always, as on the embedded store).
        self.lease = lease
        self.standby_seconds = standby_seconds
        # Tell other processes of each committed position (False for a rebuild's shadow run: its
        # positions are not the live model's).
        self.announce = announce
        # Set while the next event is known to fail: batches of one until it is applied.
        self._stalled = False
        # Read the next full batch while this one is folded (``_read``); the read under way, if any.
        self.read_ahead = read_ahead
        self._ahead: _ReadAhead | None = None
        # The process's shared read of the log's newest entries, and the ring generation this runner has seen.
        self.tail = tail
        self.announcer = announcer
        self._seen: int | None = None
        # The position this runner last committed itself; None when not known (start, failure, reset, rebuild).
        # While it is known, entries the follower does not handle are passed over without a transaction: the
        # board learns at once, the other processes through the announcer, the store within ``pass_over_seconds``.
        self._committed: int | None = None
        self._passed: int | None = None  # read past, nothing of it handled, not yet written (> _committed)
        self._pass_due = 0.0
        self.pass_over_seconds = pass_over_seconds
        # Off by default (0). Set, the live loop starts a pass no sooner than this long after the previous pass
        # began, if that one brought entries: what is saved meanwhile joins the next pass, one read-model
        # transaction for many commands, at the cost of up to this much more staleness. A follower whose previous
        # pass brought nothing (idle, or woken for nothing) applies a new entry at once.
        self.gather_seconds = gather_seconds

    @property
    def name(self) -> str:
        return self.follower.name

    def run_once(self, limit: int | None = None, until: int | None = None, *, defer: bool = False) -> int:
        """Apply the next batch (``limit`` entries, the batch size by default; none past position ``until``);
        answers how many log entries it consumed (0: caught up). Raises ``EventNotApplied`` when the batch
        fails for any reason but an outage; nothing of that batch is committed then. ``defer``: entries this
        follower does not handle may be passed over in memory, written later by ``write_pass_over`` (``run``
        does); otherwise every batch's position is in the store when this returns."""
        began = time.perf_counter()
        committed, passed = self._committed, self._passed
        self._committed = self._passed = None  # known again once this batch has gone through
        batch: Sequence[Notification] | None = None
        if committed is not None and limit is None:
            # Read before taking any lock: most wakes bring this follower nothing at all (every save wakes every
            # follower of the process), and entries it does not handle need no read-model transaction.
            batch = self._read((passed or committed) + 1, self.batch_size, until) or None
            if batch is None and defer:
                self._committed, self._passed = committed, passed
                return 0
            # (Nothing new, asked outside the live loop: the store's position decides, it may have been moved.)
            wants = self.follower.handlers.wants
            if batch is not None and not any(wants(notification.topic) for notification in batch):
                last = batch[-1].id
                if defer and (self.announcer is not None or not self.announce):
                    if passed is None:
                        self._pass_due = time.monotonic() + self.pass_over_seconds
                    self._committed, self._passed = committed, last
                    consumed = self._done(began, len(batch), last, failed=False)
                    if self.announcer is not None and self.announce:
                        self.announcer.announce(self.name, last)
                    return consumed
                if self._pass_over(committed, last):
                    self._committed = last
                    return self._done(began, len(batch), last, failed=False)
                batch = None  # another worker moved the position meanwhile: read again under the lock
        with self.engine.begin() as conn:
            consumed, last, failed = self.apply_batch(conn, limit, until, batch=batch, after=committed)
        self._committed = last
        if not consumed:
            if self.board is not None:  # a runner that starts at the head tells its waiters so, too
                self.board.advance(self.name, last)
            return 0
        return self._done(began, consumed, last, failed)

    def _done(self, began: float, consumed: int, last: int, failed: bool) -> int:
        PROJECTION_BATCH_LATENCY.labels(self.name).observe(time.perf_counter() - began)
        PROJECTION_ENTRIES.labels(self.name).inc(consumed)
        if failed:
            log.info("projection %s resumed, now at position %s", self.name, last)
        if self.board is not None:
            self.board.advance(self.name, last)
        return consumed

    def write_pass_over(self) -> None:
        """Write the position passed over (entries this follower does not handle) and tell the other processes."""
        committed, passed = self._committed, self._passed
        if committed is None or passed is None:
            return
        self._committed = self._passed = None
        if self._pass_over(committed, passed):
            self._committed = passed

    def _pass_over(self, expected: int, last: int) -> bool:
        """Move the position from ``expected`` to ``last`` past entries this follower does not handle, with no
        row lock held across a read: one compare-and-set statement (on PostgreSQL with the failure's removal
        and the progress notice, in one round trip). False when the position is no longer ``expected``
        (another worker, or a rebuild's swap, moved it): nothing is written then."""
        values = self._move_values(expected, last)
        if self.engine.dialect.name != "postgresql":
            with self.engine.begin() as conn:
                if conn.execute(self._move_statement, values).first() is None:
                    return False
                clear_failure(conn, self.name)
                return True
        # One statement is atomic on its own: no BEGIN and COMMIT around it.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(self._pass_over_statement, values).first() is not None

    def _move_values(self, expected: int, last: int) -> dict[str, Any]:
        """The parameters of the move from ``expected`` to ``last`` (and of its progress notice)."""
        return {"expected": expected, "last": last, "now": datetime.now(UTC), "payload": f"{self.name}:{last}"}

    @functools.cached_property
    def _move_statement(self) -> Any:
        tracking = projection_tracking
        return (
            update(tracking)
            .where(tracking.c.name == self.name, tracking.c.position == bindparam("expected"))
            .values(position=bindparam("last"), updated_at=bindparam("now"))
            .returning(tracking.c.name)
        )

    @functools.cached_property
    def _pass_over_statement(self) -> Any:
        """The move, the failure's removal and (``announce``) the progress notice as one PostgreSQL statement,
        built once (SQLAlchemy keys its compiled form by the object)."""
        moving = self._move_statement.cte("moved")
        failures = projection_failures
        cleared = delete(failures).where(failures.c.name.in_(select(moving.c.name))).cte("cleared")
        notice = func.pg_notify(PROGRESS_CHANNEL, bindparam("payload")) if self.announce else literal(True)
        return select(notice).select_from(moving).add_cte(cleared)

    def apply_batch(
        self,
        conn: Connection,
        limit: int | None = None,
        until: int | None = None,
        *,
        batch: Sequence[Notification] | None = None,
        after: int | None = None,
    ) -> tuple[int, int, bool]:
        """One batch inside the caller's transaction on ``conn``: lock the position, apply, write the new
        position. Answers (entries consumed, the position reached, whether a failure was cleared).
        ``batch``: entries read before the lock, following position ``after`` but for entries this follower
        does not handle; used only if the locked position is still ``after``."""
        mapper = self.app.metadata_mapper
        position, failed = self.lock_position(conn)
        if batch is not None and position == after:
            notifications = batch
        else:
            notifications = self._read(position + 1, limit or self.batch_size, until)
        if not notifications:
            return 0, position, False
        view = self.follower.view_factory(conn) if self.follower.view_factory else None
        handlers = self.follower.handlers
        event_type = "the batch"
        try:
            # The keys that open the batch's personal fields: one lookup for the batch, not one per account.
            # (A batch read ahead had its keys fetched then: this finds them in the cache.)
            self._prefetch_keys(notifications)
            for notification in notifications:
                if handlers.wants(notification.topic):
                    event_type = notification.topic.rpartition(":")[2]
                    handlers.take(notification, mapper, view)
            # The view gathered the batch's writes: they go out before the position, in the same transaction.
            if view is not None:
                view.flush()
        except Exception as error:
            if store_unavailable(error):
                raise
            first, last = notifications[0].id, notifications[-1].id
            raise EventNotApplied(self.name, first, last, event_type, error) from error
        last = notifications[-1].id
        if conn.dialect.name == "postgresql":
            # The new position, the failure's removal and (``announce``) the progress notice, in one statement: the
            # pass-over's, from the position this batch holds locked. The notice is delivered on commit: API
            # processes waiting to read their writes wake at once.
            if conn.execute(self._pass_over_statement, self._move_values(position, last)).first() is None:
                raise RuntimeError(f"projection {self.name}: its locked position {position} was not found to move")
            return len(notifications), last, failed
        write_position(conn, self.name, last)
        if failed:
            clear_failure(conn, self.name)
        return len(notifications), last, failed

    def _read(self, start: int, limit: int, until: int | None) -> Sequence[Notification]:
        """The log's entries from ``start`` (at most ``limit``, none past ``until``). A full batch starts reading
        the next one on a thread of its own (its keys prefetched too), so that the store works on it while this
        one is folded: a backlog's batches follow each other without waiting for the store."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.start == start and ahead.limit == limit and ahead.until == until:
            notifications = ahead.result()
        elif self.tail is not None:
            notifications = self.tail.read(start, limit, until, self._seen)
        else:
            notifications = self._select(start, limit, until)
        full = len(notifications) == limit == self.batch_size
        if self.read_ahead and full and (until is None or notifications[-1].id < until):
            self._ahead = _ReadAhead(self._select, notifications[-1].id + 1, limit, until, self._prefetch_keys)
        return notifications

    def _select(self, start: int, limit: int, until: int | None) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(start=start, limit=limit, stop=until)

    def _prefetch_keys(self, notifications: Sequence[Notification]) -> None:
        self.app.metadata_mapper.prefetch_keys(notifications, self.follower.handlers.wants)

    def advance(self, *, defer: bool = False) -> int:
        """Apply the next batch; when it fails, apply its events one per transaction up to the one that
        fails, so that the position stops just before it. Answers how many entries it consumed."""
        stalled = self._stalled
        if not stalled:
            try:
                return self.run_once(defer=defer)
            except EventNotApplied as failed:
                if failed.first == failed.last:
                    self._stalled = True
                    raise
        consumed = 0
        while consumed < self.batch_size:
            try:
                one = self.run_once(limit=1)
            except EventNotApplied:
                self._stalled = True
                raise
            self._stalled = False
            consumed += one
            if not one or stalled:  # past the event that failed before: whole batches again
                break
        return consumed

    def lock_position(self, conn: Connection) -> tuple[int, bool]:
        """The committed position, locked for this batch, and whether a failure is recorded beside it."""
        locking = self._locking_statement
        row = conn.execute(locking).first()
        if row is None:
            if claim_position(conn, self.name):
                # A follower that never committed starts from an empty read model: its tables may hold
                # rows another follower wrote before the read models were split the way they are now.
                for table in self.follower.tables:
                    conn.execute(delete(table))
                if self.follower.tables:
                    write_fingerprint(conn, self.name, self.follower.fingerprint)
            row = conn.execute(locking).one()
        return int(row[0]), bool(row[1])

    @functools.cached_property
    def _locking_statement(self) -> Any:
        """Built once (every batch locks): a statement object works out its SQL cache key once, not per use."""
        tracking, failures = projection_tracking, projection_failures
        return (
            select(tracking.c.position, failures.c.name.is_not(None))
            .select_from(tracking.outerjoin(failures, failures.c.name == tracking.c.name))
            .where(tracking.c.name == self.name)
            .with_for_update(of=tracking)
        )

    def catch_up(self, progress: Callable[[int], None] | None = None, until: int | None = None) -> int:
        """Run batches until one comes back short (caught up, or at position ``until``); answers how many
        entries it consumed. A batch that cannot be applied stops it (``EventNotApplied``), the batches
        before it committed."""
        total = 0
        while True:
            consumed = self.run_once(until=until)
            total += consumed
            if progress is not None and consumed:
                progress(consumed)
            if consumed < self.batch_size:
                return total

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set, sleeping until woken or the poll interval passes.

        A failed batch is retried with capped exponential backoff; other followers, each on its own
        thread, go on meanwhile."""
        attempts = 0
        while not stop.is_set():
            if self.lease is not None and not self.lease():
                stop.wait(self.standby_seconds)  # another process is the active worker: stand by
                continue
            self.wake.clear()
            if self.tail is not None:
                self._seen = self.tail.generation
            began = time.monotonic()
            try:
                consumed = self.advance(defer=True)
                if self._passed is not None and time.monotonic() >= self._pass_due:
                    self.write_pass_over()
            except EventNotApplied as failed:
                attempts += 1
                self._note_failure(failed)
                stop.wait(self.backoff(attempts))
                continue
            except Exception as error:
                attempts += 1
                if store_unavailable(error):
                    log.warning("projection %s cannot reach its stores (%s); retrying", self.name, type(error).__name__)
                else:
                    log.exception("projection %s failed a batch; retrying", self.name)
                stop.wait(self.backoff(attempts))
                continue
            attempts = 0
            if consumed < self.batch_size:
                idle = self.poll_seconds if self._passed is None else max(0.0, self._pass_due - time.monotonic())
                if self.wake.wait(idle):
                    if consumed and self.gather_seconds > 0:
                        # This pass brought entries and more came: what comes until the next pass is due joins it.
                        stop.wait(max(0.0, began + self.gather_seconds - time.monotonic()))
                elif self._passed is None:
                    # Quiet for a poll interval: the next batch reads the position from the store again, so a
                    # position moved there by hand is followed within that interval, not at the next event.
                    self._committed = None

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure in a row: doubling, capped."""
        return float(min(self.retry_seconds * 2 ** min(attempts - 1, 30), self.retry_max_seconds))

    def _note_failure(self, failed: EventNotApplied) -> Failure | None:
        """Write the failure beside the tracking row (its own transaction: the batch's was rolled back)."""
        PROJECTION_FAILURES.labels(self.name).inc()
        try:
            with self.engine.begin() as conn:
                failure = record_failure(conn, self.name, failed.first, failed.error_type, failed.message)
        except Exception as error:
            log.warning("projection %s could not record its failure (%s)", self.name, type(error).__name__)
            return None
        if failure.retries == 1:
            log.error("%s; retrying with backoff", failed.message, exc_info=failed.cause)
        else:
            log.warning("%s (attempt %d)", failed.message, failure.retries)
        return failure

    def settle(self, position: int) -> None:
        """A rebuild swapped a new model in at ``position``: batches are whole again, the board knows it."""
        self._stalled = False
        self._committed = self._passed = None
        if self.board is not None:
            self.board.advance(self.name, position)

    def reset(self) -> None:
        """Forget everything this follower wrote and start again from position zero."""
        self._committed = self._passed = None
        with self.engine.begin() as conn:
            self.lock_position(conn)
            for table in self.follower.tables:
                conn.execute(delete(table))
            write_position(conn, self.name, 0)
            clear_failure(conn, self.name)
            if self.follower.tables:
                write_fingerprint(conn, self.name, self.follower.fingerprint)
        self._stalled = False
        if self.board is not None:
            self.board.forget(self.name)


class _ReadAhead:
    """One read of the log under way on a thread of its own; ``result`` waits for it (and raises what it raised).

    Reading ahead is only reading earlier: entries commit in position order (the append takes the table lock),
    so a read of the positions after ``start`` never passes over one committed later; it may only find fewer.
    A read whose start no longer follows the tracked position (another worker moved it) is not used.
    """

    def __init__(
        self,
        select: Callable[[int, int, int | None], Sequence[Notification]],
        start: int,
        limit: int,
        until: int | None,
        prefetch: Callable[[Sequence[Notification]], None],
    ) -> None:
        self.start, self.limit, self.until = start, limit, until
        self._select, self._prefetch = select, prefetch
        self._done = threading.Event()
        self._notifications: Sequence[Notification] = ()
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="projection-read-ahead", daemon=True).start()

    def _run(self) -> None:
        try:
            self._notifications = self._select(self.start, self.limit, self.until)
        except BaseException as error:  # given to the batch that uses this read, as its own read would have raised it
            self._error = error
        else:
            with contextlib.suppress(Exception):  # only warms the key cache: the batch prefetches (and fails) itself
                self._prefetch(self._notifications)
        finally:
            self._done.set()

    def result(self) -> Sequence[Notification]:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._notifications


class PostgresListener:
    """One LISTEN connection per process: new events wake the runners, progress wakes queries."""

    def __init__(self, conninfo: str, events_channel: str, wakeups: Wakeups, board: PositionBoard) -> None:
        self.conninfo = conninfo
        self.events_channel = events_channel
        self.wakeups = wakeups
        self.board = board
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chronicle-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    for channel in (self.events_channel, PROGRESS_CHANNEL):
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    # Anything written while we were not listening is picked up by this first ring.
                    self.wakeups.ring()
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=0.5):
                            self._dispatch(notify.channel, notify.payload)
            except Exception:
                log.exception("LISTEN connection lost; reconnecting")
                self._stop.wait(1.0)

    def _dispatch(self, channel: str, payload: str) -> None:
        if channel == PROGRESS_CHANNEL:
            name, _, position = payload.rpartition(":")
            if position.isdigit():
                self.board.advance(name, int(position))
        else:
            self.wakeups.ring()
