"""Zero-downtime rebuilds: a read model is built again beside the live one, compared, then swapped in.

A rebuild runs the follower's own handlers and view over the whole log into *shadow* tables while
the live tables keep serving queries and the live worker keeps following the log:

- on PostgreSQL the shadow tables are the same tables in a schema of their own
  (``chronicle_rebuild_<name>``, with its own tracking row), reached through SQLAlchemy's
  ``schema_translate_map``, so neither the view nor the projection knows it is writing elsewhere;
- on the embedded SQLite store they live in a database file attached beside the read models.

Once the shadow has caught up with the head, one transaction locks the live tracking row (the
live worker waits), brings whichever model is behind to the other's position, and compares the
two table by table (row counts and an order-independent checksum of the rows). When the rows are
the same, or the projection's code changed (its ``Follower.fingerprint`` is not the one the live
model was built by), or the operator forces it, the same transaction swaps the tables (PostgreSQL:
``ALTER TABLE ... SET SCHEMA``, live out, shadow in; SQLite: the live tables dropped, created and
filled from the shadow's)
and moves the tracking position; otherwise it rolls back and the live model stays as it was.
Queries see the old model until the commit and the whole new one after it, never a part.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, event, select, text, update
from sqlalchemy.engine import make_url

from domain.shared.errors import Category, DomainError, NotFound
from infrastructure.shared.leases import Leases, process_identity
from infrastructure.shared.readstore import (
    BOOKKEEPING_TABLES,
    clear_failure,
    create_read_engine,
    metadata,
    projection_rebuilds,
    read_fingerprint,
    upsert,
    write_fingerprint,
    write_position,
)
from infrastructure.shared.runner import PROGRESS_CHANNEL, EventNotApplied, PositionBoard, ProjectionRunner

log = logging.getLogger("chronicle.projections")


class UnknownProjection(NotFound):
    code = "unknown_projection"
    title = "No read model by that name can be rebuilt"


class RebuildRunning(DomainError):
    code = "rebuild_running"
    title = "A rebuild of this projection is already running"
    category = Category.CONFLICT


class RebuildRefused(DomainError):
    """The new rows differ from the live ones though the projection's code is the same: not swapped."""

    code = "rebuild_refused"
    title = "The rebuilt rows differ from the live ones while the projection code is unchanged"
    category = Category.CONFLICT

    def __init__(self, report: RebuildReport) -> None:
        self.report = report
        super().__init__(
            f"{report.name}: the rebuilt read model differs from the live one ({', '.join(report.differing)}) "
            "and its projection code did not change; not swapped (force it to swap anyway)"
        )


@dataclass(frozen=True)
class TableDiff:
    """One table of the live and the rebuilt model: row counts and checksums."""

    table: str
    live_rows: int
    new_rows: int
    live_checksum: str
    new_checksum: str

    @property
    def same(self) -> bool:
        return self.live_rows == self.new_rows and self.live_checksum == self.new_checksum


@dataclass(frozen=True)
class RebuildReport:
    """What the rebuild found before the swap, and whether it swapped."""

    name: str
    position: int  # where the rebuilt model stands (and where both were compared)
    live_position: int  # where the live model stood when compared (below ``position``: it could not get there)
    tables: tuple[TableDiff, ...]
    live_fingerprint: str | None  # None: the live model was built before fingerprints were kept
    new_fingerprint: str
    forced: bool = False
    swapped: bool = False

    @property
    def code_changed(self) -> bool:
        return self.live_fingerprint is not None and self.live_fingerprint != self.new_fingerprint

    @property
    def differing(self) -> list[str]:
        tables = [diff.table for diff in self.tables if not diff.same]
        if self.live_position != self.position:
            tables.append(f"live stopped at position {self.live_position}")
        return tables

    @property
    def differs(self) -> bool:
        return bool(self.differing)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "tables": [asdict(diff) | {"same": diff.same} for diff in self.tables],
            "code_changed": self.code_changed,
            "differs": self.differs,
        }


@contextmanager
def _translated(conn: Connection, schema: str) -> Iterator[Connection]:
    """``conn`` reaching the shadow's tables for the duration (the same connection and transaction)."""
    conn.execution_options(schema_translate_map={None: schema})
    try:
        yield conn
    finally:
        conn.execution_options(schema_translate_map=None)


def _quoted(conn: Connection, *names: str) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return ".".join(quote(name) for name in names)


class Shadow:
    """Where one rebuild writes, and how it is compared and swapped in; one subclass per store."""

    def __init__(self, name: str, tables: Sequence[Table]) -> None:
        self.name = name
        self.tables = tuple(tables)
        self.schema = f"chronicle_rebuild_{name}"[:63]

    @property
    def engine(self) -> Engine:
        """The shadow run's engine: its statements reach the shadow's tables."""
        raise NotImplementedError

    @property
    def swap_engine(self) -> Engine:
        """The engine of the final transaction (it reaches both models)."""
        raise NotImplementedError

    def create(self) -> None:
        raise NotImplementedError

    def checksums(self, conn: Connection, table: Table, shadow: bool) -> tuple[int, str]:
        raise NotImplementedError

    def swap(self, conn: Connection) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def _create_tables(self, engine: Engine) -> None:
        with engine.begin() as conn, _translated(conn, self.schema):
            metadata.create_all(conn, tables=[*BOOKKEEPING_TABLES, *self.tables])


class PostgresShadow(Shadow):
    """The shadow tables in a schema of their own; the swap moves tables between schemas."""

    def __init__(self, name: str, tables: Sequence[Table], live_engine: Engine, lock_timeout_seconds: float) -> None:
        super().__init__(name, tables)
        self.live_engine = live_engine
        self.retired = f"chronicle_retired_{name}"[:63]
        self.lock_timeout_ms = int(lock_timeout_seconds * 1000)
        self._engine = live_engine.execution_options(schema_translate_map={None: self.schema})

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def swap_engine(self) -> Engine:
        return self.live_engine

    def create(self) -> None:
        self.drop()  # what a rebuild that died left behind
        with self.live_engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {_quoted(conn, self.schema)}"))
        self._create_tables(self.live_engine)

    def checksums(self, conn: Connection, table: Table, shadow: bool) -> tuple[int, str]:
        schema = self.schema if shadow else str(conn.execute(text("SELECT current_schema()")).scalar_one())
        # Each row's text form hashed, the hashes summed: the same rows give the same sum in any order.
        summed = "coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text"
        where = _quoted(conn, schema, table.name)  # quoted names of our own tables only
        row = conn.execute(text(f"SELECT count(*), {summed} FROM {where} AS t")).one()  # noqa: S608
        return int(row[0]), str(row[1])

    def swap(self, conn: Connection) -> None:
        live = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        # Queries wait for the swap (an instant) rather than read a part; a query that holds a table for
        # longer than this makes the swap give up instead of stalling every query behind it.
        conn.execute(text(f"SET LOCAL lock_timeout = {self.lock_timeout_ms}"))
        conn.execute(text(f"CREATE SCHEMA {_quoted(conn, self.retired)}"))
        moves = [(live, self.retired), (self.schema, live)]  # the live tables out first, then the new ones in
        for source, target in moves:
            for table in self.tables:
                moved, into = _quoted(conn, source, table.name), _quoted(conn, target)
                conn.execute(text(f"ALTER TABLE {moved} SET SCHEMA {into}"))

    def drop(self) -> None:
        with self.live_engine.begin() as conn:
            for schema in (self.schema, self.retired):
                conn.execute(text(f"DROP SCHEMA IF EXISTS {_quoted(conn, schema)} CASCADE"))


class SqliteShadow(Shadow):
    """The shadow tables in a database file attached beside the read models (``<file>.rebuild-<name>``);
    the swap drops the live tables, creates them again and fills them from the shadow's, in one
    transaction (SQLite cannot move a table between database files; readers of the WAL database see
    the old tables until the commit)."""

    def __init__(self, name: str, tables: Sequence[Table], url: str) -> None:
        super().__init__(name, tables)
        database = make_url(url).database or ""
        self.path = Path(f"{database}.rebuild-{name}")
        self._engine: Engine | None = None
        self._url = url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            engine = create_read_engine(self._url, writer=True)
            path, schema = str(self.path), self.schema

            @event.listens_for(engine, "connect")
            def _attach(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("ATTACH DATABASE ? AS " + f'"{schema}"', (path,))

            self._engine = engine
        return self._engine

    @property
    def swap_engine(self) -> Engine:
        return self.engine

    def create(self) -> None:
        self.drop()
        self._create_tables(self.engine)

    def checksums(self, conn: Connection, table: Table, shadow: bool) -> tuple[int, str]:
        # Each row hashed, the hashes summed: the same rows give the same sum in any order.
        with _translated(conn, self.schema if shadow else "main"):
            found = conn.execute(select(table)).all()
        total = sum(
            int.from_bytes(hashlib.blake2b(repr(tuple(row)).encode(), digest_size=8).digest(), "big") for row in found
        )
        return len(found), str(total)

    def swap(self, conn: Connection) -> None:
        # SQLite's DDL is transactional: the live tables are dropped and created again from the current
        # definitions (a changed column or index comes in with them), then filled from the shadow's.
        with _translated(conn, "main"):
            metadata.drop_all(conn, tables=list(self.tables), checkfirst=False)
            metadata.create_all(conn, tables=list(self.tables), checkfirst=False)
        for table in self.tables:  # quoted names of our own tables only
            live, new = _quoted(conn, "main", table.name), _quoted(conn, self.schema, table.name)
            columns = ", ".join(_quoted(conn, column.name) for column in table.columns)
            conn.execute(text(f"INSERT INTO {live} ({columns}) SELECT {columns} FROM {new}"))  # noqa: S608

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        for leftover in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"), Path(f"{self.path}-journal")):
            leftover.unlink(missing_ok=True)


Progress = Callable[[int, int], None]  # (position reached, head)


def rebuild(
    live: ProjectionRunner,
    shadow: Shadow,
    head: Callable[[], int],
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RebuildReport:
    """Build ``live``'s read model again in ``shadow``, compare, and swap it in (see the module's doc).

    Raises ``RebuildRefused`` (nothing swapped) when the rows differ, the code is unchanged and not
    ``force``; ``EventNotApplied`` when the projection cannot apply an event of the log.
    """
    follower = live.follower
    board = PositionBoard(lambda _name: 0)
    runner = ProjectionRunner(
        live.app, shadow.engine, follower, board=board, batch_size=live.batch_size, announce=False
    )
    shadow.create()
    try:
        while True:
            consumed = runner.run_once()
            if progress is not None:
                progress(board.known(live.name), head())
            if consumed < runner.batch_size:
                break
        report = _compare_and_swap(live, runner, shadow, force)
        if progress is not None:
            progress(report.position, head())
    finally:
        shadow.drop()
    live.settle(report.position)
    return report


def _compare_and_swap(live: ProjectionRunner, runner: ProjectionRunner, shadow: Shadow, force: bool) -> RebuildReport:
    follower = live.follower
    with shadow.swap_engine.begin() as conn:
        live_position, _ = live.lock_position(conn)  # the live worker waits from here to the commit
        with _translated(conn, shadow.schema):
            position = _catch_up(runner, conn, until=live_position)
        if live_position < position:
            nested = conn.begin_nested()
            try:
                live_position = _catch_up(live, conn, until=position)
            except EventNotApplied:  # the live code cannot get there: compare where it stands
                nested.rollback()
            else:
                nested.commit()
        tables = []
        for table in follower.tables:
            live_rows, live_sum = shadow.checksums(conn, table, shadow=False)
            new_rows, new_sum = shadow.checksums(conn, table, shadow=True)
            tables.append(TableDiff(table.name, live_rows, new_rows, live_sum, new_sum))
        report = RebuildReport(
            name=live.name,
            position=position,
            live_position=live_position,
            tables=tuple(tables),
            live_fingerprint=read_fingerprint(conn, live.name),
            new_fingerprint=follower.fingerprint,
            forced=force,
        )
        if report.differs and not report.code_changed and not force:
            conn.rollback()
            raise RebuildRefused(report)
        shadow.swap(conn)
        write_position(conn, live.name, position)
        clear_failure(conn, live.name)
        write_fingerprint(conn, live.name, report.new_fingerprint)
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": PROGRESS_CHANNEL, "payload": f"{live.name}:{position}"},
            )
    return RebuildReport(**{**asdict(report), "tables": report.tables, "swapped": True})


def _catch_up(runner: ProjectionRunner, conn: Connection, until: int | None) -> int:
    """Apply batches on ``conn`` (the caller's transaction) until ``runner`` reaches ``until``; answers the position."""
    position, _ = runner.lock_position(conn)
    while until is None or position < until:
        consumed, position, _ = runner.apply_batch(conn, until=until)
        if not consumed:
            break
    return position


# --- jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildJob:
    """A rebuild as the operators see it (``projection_rebuilds``)."""

    job_id: str
    name: str
    state: str  # running, swapped, refused, failed
    position: int
    head: int
    report: dict[str, Any] | None
    error: str | None
    worker: str


class Rebuilds:
    """Starts rebuilds (one at a time per projection, across processes) and records their progress."""

    def __init__(
        self,
        runners: dict[str, ProjectionRunner],
        shadow_for: Callable[[ProjectionRunner], Shadow],
        head: Callable[[], int],
        exclusive: Exclusive,
        jobs: RebuildJobs,
    ) -> None:
        self._runners = runners
        self._shadow_for = shadow_for
        self._head = head
        self._exclusive = exclusive
        self._jobs = jobs
        self._threads: list[threading.Thread] = []

    def rebuildable(self) -> list[str]:
        return [name for name, runner in self._runners.items() if runner.follower.tables]

    def runner(self, name: str) -> ProjectionRunner:
        runner = self._runners.get(name)
        if runner is None or not runner.follower.tables:
            raise UnknownProjection(f"No read model named {name[:100]!r}; rebuildable: {', '.join(self.rebuildable())}")
        return runner

    def run(self, name: str, *, force: bool = False, progress: Progress | None = None) -> RebuildReport:
        """Rebuild ``name`` now, in this thread (the CLI); ``RebuildRunning`` if another rebuild of it runs."""
        runner = self.runner(name)
        job_id = str(uuid.uuid4())
        with self._exclusive(name):
            self._jobs.started(name, job_id, self._head())
            return self._job(runner, job_id, force, progress)

    def start(self, name: str, *, force: bool = False) -> str:
        """Start rebuilding ``name`` in a background thread of this process; answers the job's id."""
        runner = self.runner(name)
        job_id = str(uuid.uuid4())
        holding = self._exclusive(name)
        holding.__enter__()  # raises RebuildRunning before any thread starts
        try:  # the job is visible as running before its id is answered
            self._jobs.started(name, job_id, self._head())
        except BaseException:
            holding.__exit__(None, None, None)
            raise

        def work() -> None:
            try:
                self._job(runner, job_id, force, None)
            except Exception as error:  # recorded in the job's row (state, our words)
                log.info("rebuild job %s of %s ended: %s", job_id, name, type(error).__name__)
            finally:
                holding.__exit__(None, None, None)

        thread = threading.Thread(target=work, name=f"rebuild-{name}", daemon=True)
        self._threads = [*(running for running in self._threads if running.is_alive()), thread]
        thread.start()
        return job_id

    def _job(self, runner: ProjectionRunner, job_id: str, force: bool, progress: Progress | None) -> RebuildReport:
        def step(position: int, now_head: int) -> None:
            self._jobs.progressed(runner.name, job_id, position, now_head)
            if progress is not None:
                progress(position, now_head)

        try:
            report = rebuild(runner, self._shadow_for(runner), self._head, force=force, progress=step)
        except RebuildRefused as refused:
            self._jobs.finished(runner.name, job_id, "refused", refused.report.as_dict(), str(refused))
            raise
        except EventNotApplied as failed:
            self._jobs.finished(runner.name, job_id, "failed", None, failed.message)
            raise
        except Exception as error:
            log.exception("rebuild of %s failed", runner.name)
            self._jobs.finished(runner.name, job_id, "failed", None, f"the rebuild failed ({type(error).__name__})")
            raise
        self._jobs.finished(runner.name, job_id, "swapped", report.as_dict(), None)
        log.info("rebuild of %s swapped in at position %s", runner.name, report.position)
        return report

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for the background rebuilds of this process (closing, tests)."""
        for thread in self._threads:
            thread.join(timeout)

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def close(self) -> None:
        """Let a background rebuild finish its current step (a rebuild cut short swaps nothing)."""
        self.wait(timeout=10)
        self._exclusive.close()


class Exclusive:
    """One rebuild of a projection at a time: in this process, and (PostgreSQL) across processes
    through an advisory lock held for the rebuild's duration (released if the process dies)."""

    def __init__(self, leases: Leases | None) -> None:
        self._leases = leases
        self._local: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        with self._lock:
            if name in self._local:
                raise RebuildRunning()
            self._local.add(name)
        try:
            if self._leases is not None and not self._leases.take(name):
                raise RebuildRunning()
            yield
        finally:
            if self._leases is not None:
                self._leases.release(name)
            with self._lock:
                self._local.discard(name)

    def close(self) -> None:
        if self._leases is not None:
            self._leases.close()


class RebuildJobs:
    """Each projection's last rebuild job, in ``projection_rebuilds`` (one short transaction per change)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._worker = process_identity()

    def started(self, name: str, job_id: str, head: int) -> None:
        now = datetime.now(UTC)
        row = {
            "name": name,
            "job_id": job_id,
            "state": "running",
            "position": 0,
            "head": head,
            "report": None,
            "error": None,
            "worker": self._worker[:100],
            "started_at": now,
            "updated_at": now,
            "finished_at": None,
        }
        with self._engine.begin() as conn:
            upsert(conn, projection_rebuilds, row, key=["name"])

    def progressed(self, name: str, job_id: str, position: int, head: int) -> None:
        self._update(name, job_id, position=position, head=head)

    def finished(self, name: str, job_id: str, state: str, report: dict[str, Any] | None, error: str | None) -> None:
        changes: dict[str, Any] = {"state": state, "error": error[:500] if error else None}
        changes["finished_at"] = datetime.now(UTC)
        if report is not None:
            changes["report"] = json.dumps(report)
            changes["position"] = report["position"]
        self._update(name, job_id, **changes)

    def _update(self, name: str, job_id: str, **changes: Any) -> None:
        table = projection_rebuilds
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    update(table)
                    .where(table.c.name == name, table.c.job_id == job_id)
                    .values(updated_at=datetime.now(UTC), **changes)
                )
        except Exception as error:  # progress is for display: a missed update does not stop the rebuild
            log.warning("rebuild of %s could not record its progress (%s)", name, type(error).__name__)

    def read(self, conn: Connection, names: Sequence[str]) -> dict[str, RebuildJob]:
        table = projection_rebuilds
        rows = conn.execute(select(table).where(table.c.name.in_(list(names))))
        return {
            row.name: RebuildJob(
                job_id=row.job_id,
                name=row.name,
                state=row.state,
                position=int(row.position),
                head=int(row.head),
                report=json.loads(row.report) if row.report else None,
                error=row.error,
                worker=row.worker,
            )
            for row in rows
        }
