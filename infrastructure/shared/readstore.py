"""The read store: SQLAlchemy engine, the tracking table, and helpers shared by every read model."""

from __future__ import annotations

import contextlib
import functools
import operator
import select as io_select
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar, cast
from uuid import UUID

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    Select,
    String,
    Table,
    Text,
    bindparam,
    column,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from infrastructure.shared.event_store import SCHEMA_LOCK

metadata = MetaData()

# Quantities of material: exact, three decimal places (see domain.shared.quantity).
QUANTITY = Numeric(18, 3)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every store: SQLite hands back naive values, read here as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


projection_tracking = Table(
    "projection_tracking",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A follower that could not apply an event: one row beside its tracking row, from the first failed
# attempt until a batch past that event commits (which deletes it in the same transaction). A table of
# its own, so read stores created before it existed gain it from ``create_all`` without a migration.
projection_failures = Table(
    "projection_failures",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("failed_position", BigInteger, nullable=False),
    Column("error_type", String(200), nullable=False),
    Column("error", String(500), nullable=False),
    Column("retries", Integer, nullable=False),
    Column("first_failed_at", UtcDateTime, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
)

# The fingerprint of the projection code that built each read model from zero (``Follower.fingerprint``):
# a rebuild compares it with the code's now. Its own table, so older read stores gain it from ``create_all``.
projection_versions = Table(
    "projection_versions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("built_at", UtcDateTime, nullable=False),
)

# The last rebuild job of each projection: its state and progress, and the differences it found before the
# swap (a JSON report), for every process (the API, the CLI) to show.
projection_rebuilds = Table(
    "projection_rebuilds",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("state", String(20), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("head", BigInteger, nullable=False),
    Column("report", Text, nullable=True),
    Column("error", String(500), nullable=True),
    Column("worker", String(100), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

# What a rebuild creates beside a follower's tables in its shadow schema (the shadow run's own bookkeeping).
BOOKKEEPING_TABLES = (projection_tracking, projection_failures, projection_versions)


def create_read_engine(
    url: str,
    pool_size: int = 10,
    *,
    max_overflow: int | None = None,
    writer: bool = False,
    pool_timeout: float = 30.0,
) -> Engine:
    """An engine for the read store; ``writer`` engines serialize their transactions on SQLite.

    Statement parameters never appear in its errors (they hold personal data, and errors reach logs).
    On PostgreSQL, waiting for a pooled connection gives up after ``pool_timeout`` seconds and
    connecting after the URL's ``connect_timeout`` (``Settings.read_store_url`` sets it), so an outage
    is answered quickly, not after the driver's and the pool's 30 s; a pooled connection the server has
    closed or reset (a restart, a cut) is replaced before use (``_closed_by_server``), without the round
    trip of a ping on every checkout.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets API readers and the projection writer work at once.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted and overwritten content is zeroed, not left in free pages (an erased name must not linger).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()
            if writer:
                dbapi_connection.isolation_level = None

        if writer:
            # SQLite ignores FOR UPDATE; BEGIN IMMEDIATE gives two writers the same serialization.
            @event.listens_for(engine, "begin")
            def _begin_immediate(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    overflow = pool_size if max_overflow is None else max_overflow
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=overflow, pool_timeout=pool_timeout, hide_parameters=True
    )
    event.listen(engine, "checkout", _replace_if_closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Whether the server has ended an idle pooled connection, asked of the socket alone (no round trip).

    An idle connection has nothing to read unless the server closed it (a restart's FATAL message and
    FIN, a reset: the socket reads as ready) or, rarely, sent an unasked notice; either way the connection
    is not used. A server that vanished without a word still fails the first statement, as a ping would
    have hung until its timeout.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        readable, _, _ = io_select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # no socket left to ask
        return True
    return bool(readable)


def _replace_if_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's checkout: SQLAlchemy replaces a connection this refuses with a fresh one (DisconnectionError)."""
    if _closed_by_server(dbapi_connection):
        raise DisconnectionError("the server has closed this pooled connection")


def _insert(conn: Connection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, in the connection's dialect."""
    return _insert_for(conn.dialect.name, table)


def _insert_for(dialect: str, table: Table) -> Any:
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


# The statements of the batch writes below are built once per table and shape of row, not per flush: a live
# follower flushes a few rows a batch, and building the statement (and SQLAlchemy's cache key of a new
# statement object) cost more than sending it. Bounded: tables and their shapes of row are few.
_STATEMENTS = 1024


def upsert(
    conn: Connection, table: Table, values: Mapping[str, Any] | Sequence[Mapping[str, Any]], key: Sequence[str]
) -> None:
    """Insert the row(s) or overwrite those with the same ``key``: replays stay idempotent.

    Many rows go to the server as one statement per shape of row (set of columns): on PostgreSQL one
    ``INSERT … SELECT … FROM json_to_recordset(…)`` where it applies (``_json_rows``), else an executemany.
    """
    rows = [values] if isinstance(values, Mapping) else values
    dialect, key = conn.dialect.name, tuple(key)
    for columns, group in _by_columns(rows).items():
        ordered = tuple(sorted(columns))
        document = _json_rows(dialect, table, ordered, group, key)
        statement = _upsert_statement(dialect, table, ordered, key, document is not None)
        conn.execute(statement, {"_rows": document} if document is not None else group)


@functools.lru_cache(maxsize=_STATEMENTS)
def _upsert_statement(dialect: str, table: Table, columns: tuple[str, ...], key: tuple[str, ...], bulk: bool) -> Any:
    insert = _insert_for(dialect, table)
    if bulk and (recordset := _recordset(table, columns)) is not None:
        insert = insert.from_select(list(columns), select(*(recordset.c[name] for name in columns)))
    changes = {name: insert.excluded[name] for name in columns if name not in key}
    if changes:
        return insert.on_conflict_do_update(index_elements=list(key), set_=changes)
    return insert.on_conflict_do_nothing(index_elements=list(key))


_NONE = type(None)
# The column types whose values PostgreSQL reads from a JSON record as they are (one conversion, no per-row
# processing), each with the Python types whose JSON text (orjson's) PostgreSQL reads back into it as the value a row
# insert writes (and enums on str or int where text or integers go, ``_written_as_is``). Anything else (a plain
# enum member, which psycopg writes by its name; a float; a bool where a number goes, which psycopg casts and
# JSON does not) sends its rows one by one.
_BULK_VALUES: tuple[tuple[type, frozenset[type]], ...] = (
    (SqlUuid, frozenset({UUID, str, _NONE})),
    (String, frozenset({str, _NONE})),
    (Boolean, frozenset({bool, _NONE})),
    (Integer, frozenset({int, _NONE})),  # BigInteger too (a subclass)
    (Numeric, frozenset({Decimal, int, _NONE})),
    (DateTime, frozenset({datetime, _NONE})),
    (Date, frozenset({date, _NONE})),
)
_BULK_COLUMNS = tuple(column_type for column_type, _ in _BULK_VALUES)


def _column_type(table: Table, name: str) -> Any:
    """The column's type as the store sees it (a decorator's underlying type)."""
    kind = table.c[name].type
    return kind.impl if isinstance(kind, TypeDecorator) else kind


def _json_rows(
    dialect: str, table: Table, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]], key: tuple[str, ...]
) -> str | None:
    """These rows as one JSON array of objects, for ``INSERT … SELECT … FROM json_to_recordset(…)``; None where
    that does not apply (another dialect, a single row, a key repeated: ON CONFLICT DO UPDATE touches a row once
    per statement; a column type without a plain JSON form, a value of another Python type) and the rows go one
    by one. executemany sends and binds every row on its own (most of a catch-up's write cost); a typed array
    per column is one parameter too, but psycopg dumps every element of it in Python."""
    if dialect != "postgresql" or len(rows) < 2 or (accepted := _accepted_values(table, columns)) is None:
        return None
    if len(set(map(operator.itemgetter(*key), rows))) < len(rows):
        return None
    for name, (plain, enum_base) in accepted.items():
        others = set(map(type, map(operator.itemgetter(name), rows))) - plain
        if others and (enum_base is None or not all(issubclass(k, enum_base) and _written_as_is(k) for k in others)):
            return None
    try:
        return orjson.dumps(rows, default=_decimal_text).decode()
    except orjson.JSONEncodeError:  # an integer past 64 bits, text that is not valid Unicode, a row not a dict
        return None


@functools.lru_cache(maxsize=_STATEMENTS)
def _accepted_values(table: Table, columns: tuple[str, ...]) -> dict[str, tuple[frozenset[type], Any]] | None:
    """Per column, the value types that go as JSON, and the enums' base (``str``, ``int``) that may stand in for
    them; None when a column's type has no plain JSON form."""
    if _recordset(table, columns) is None:
        return None
    accepted = {}
    for name in columns:
        base = _column_type(table, name)
        plain = next(values for column_type, values in _BULK_VALUES if isinstance(base, column_type))
        enums = str if isinstance(base, String) else int if isinstance(base, Integer) else None
        accepted[name] = (plain, enums)
    return accepted


@functools.cache
def _written_as_is(kind: type) -> bool:
    """An enum on ``str`` or ``int`` (``StrEnum``, ``class Status(str, Enum)``): psycopg dumps a value by the first
    class of its type's order that it knows, here ``str`` or ``int`` before ``Enum``, so it writes the member's
    text or number, which is what orjson writes too."""
    return issubclass(kind, Enum) and next(base for base in kind.__mro__ if base in (str, int, Enum)) is not Enum


def _decimal_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


@functools.lru_cache(maxsize=_STATEMENTS)
def _recordset(table: Table, columns: tuple[str, ...]) -> Any:
    """``json_to_recordset(CAST(:_rows AS json)) AS rows(column type, …)``, or None when a column's type has no
    plain JSON form.

    Each record column is typed as its table column without a length or precision: a ``VARCHAR(n)`` there
    would cut a value too long, where the table column's own assignment refuses it, exactly as a row-by-row
    insert does."""
    typed = []
    for name in columns:
        base = _column_type(table, name)
        if not isinstance(base, _BULK_COLUMNS) or isinstance(base, SqlEnum):
            return None
        plain: Any = String() if isinstance(base, String) else Numeric() if isinstance(base, Numeric) else base
        typed.append(column(name, plain))
    document = sql_cast(bindparam("_rows", type_=Text()), JSON)
    return func.json_to_recordset(document).table_valued(*typed).render_derived(name="rows", with_types=True)


def increment(
    conn: Connection, table: Table, key: Sequence[str], column: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Add each row's ``column`` to the stored row with the same ``key``, creating missing rows as given.

    A row whose count comes back to zero is removed, so the table holds the same rows however the
    changes were batched (a rebuild in one batch and a live run in many agree row for row).
    """
    if not rows:
        return
    adding, removing = _increment_statements(conn.dialect.name, table, tuple(key), column)
    conn.execute(adding, list(rows))
    conn.execute(removing, [{f"k_{n}": row[n] for n in key} for row in rows])


@functools.lru_cache(maxsize=_STATEMENTS)
def _increment_statements(dialect: str, table: Table, key: tuple[str, ...], column: str) -> tuple[Any, Any]:
    insert = _insert_for(dialect, table)
    adding = insert.on_conflict_do_update(
        index_elements=list(key), set_={column: table.c[column] + insert.excluded[column]}
    )
    return adding, delete(table).where(*_at_key(table, key, "k_"), table.c[column] == 0)


def _at_key(table: Table, key: tuple[str, ...], prefix: str) -> list[Any]:
    """``column = :<prefix><column>`` for each column of ``key``."""
    return [table.c[name] == bindparam(f"{prefix}{name}") for name in key]


def _by_columns(rows: Sequence[Mapping[str, Any]]) -> dict[frozenset[str], list[Mapping[str, Any]]]:
    """Rows grouped by the columns they carry: one executemany statement per shape."""
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[frozenset(row)].append(row)
    return groups


def update_many(conn: Connection, table: Table, key: Sequence[str], changes: Mapping[Any, Mapping[str, Any]]) -> None:
    """Set each keyed row's changed columns, in one executemany statement per set of changed columns."""
    names = [f"_key_{name}" for name in key]
    rows = [
        {**values, **dict(zip(names, k if isinstance(k, tuple) else (k,), strict=True))}
        for k, values in changes.items()
    ]
    for columns, group in _by_columns(rows).items():
        conn.execute(_update_statement(table, tuple(key), frozenset(columns.difference(names))), group)


@functools.lru_cache(maxsize=_STATEMENTS)
def _update_statement(table: Table, key: tuple[str, ...], columns: frozenset[str]) -> Any:
    return update(table).where(*_at_key(table, key, "_key_")).values({name: bindparam(name) for name in columns})


@functools.lru_cache(maxsize=_STATEMENTS)
def _delete_statement(table: Table, key: tuple[str, ...]) -> Any:
    return delete(table).where(*_at_key(table, key, "k_"))


Key = Any  # one column's value, or a tuple of values for a composite key


class PendingRows:
    """A batch's writes to one table, held back and merged: rows it adds, changes to stored rows, removals.

    A view reads its own writes through ``added_row``/``changes``; ``flush`` (inside the batch's
    transaction) writes them with one executemany per shape of row. Later writes to a key win, so
    the result is what applying the events one by one would have written.
    """

    def __init__(self, table: Table, key: str | Sequence[str]) -> None:
        self.table = table
        self.key: tuple[str, ...] = (key,) if isinstance(key, str) else tuple(key)
        self.added: dict[Key, dict[str, Any]] = {}
        self.changed: dict[Key, dict[str, Any]] = {}
        self.removed: set[Key] = set()

    def _key_of(self, row: Mapping[str, Any]) -> Key:
        return row[self.key[0]] if len(self.key) == 1 else tuple(row[name] for name in self.key)

    def add(self, row: Mapping[str, Any]) -> None:
        key = self._key_of(row)
        self.removed.discard(key)
        self.changed.pop(key, None)
        self.added[key] = dict(row)

    def change(self, key: Key, **fields: Any) -> None:
        added = self.added.get(key)
        if added is not None:
            added.update(fields)
        else:
            self.changed.setdefault(key, {}).update(fields)

    def remove(self, key: Key) -> None:
        self.added.pop(key, None)
        self.changed.pop(key, None)
        self.removed.add(key)

    def added_row(self, key: Key) -> dict[str, Any] | None:
        """The whole row, if this batch added it."""
        return self.added.get(key)

    def changes(self, key: Key) -> dict[str, Any]:
        """What this batch changed in a stored row (nothing, if it did not)."""
        return self.changed.get(key, {})

    def flush(self, conn: Connection) -> None:
        if self.removed:
            names = [f"k_{name}" for name in self.key]
            params = [dict(zip(names, k if isinstance(k, tuple) else (k,), strict=True)) for k in self.removed]
            conn.execute(_delete_statement(self.table, self.key), params)
        if self.added:
            upsert(conn, self.table, list(self.added.values()), self.key)
        if self.changed:
            update_many(conn, self.table, self.key, self.changed)
        self.added.clear()
        self.changed.clear()
        self.removed.clear()


class Increments:
    """A batch's changes to counters in one table, summed per key and added to the stored rows by ``flush``.

    ``fixed`` columns are written with a new row (a material's sku) and left alone after.
    """

    def __init__(self, table: Table, key: Sequence[str], column: str) -> None:
        self.table = table
        self.key = tuple(key)
        self.column = column
        self._deltas: dict[tuple[Any, ...], Any] = {}
        self._fixed: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, key: tuple[Any, ...], delta: Any, **fixed: Any) -> None:
        self._deltas[key] = self._deltas.get(key, 0) + delta
        if fixed:
            self._fixed.setdefault(key, fixed)

    def flush(self, conn: Connection) -> None:
        rows = [
            {**dict(zip(self.key, key, strict=True)), **self._fixed.get(key, {}), self.column: delta}
            for key, delta in sorted(self._deltas.items())
            if delta
        ]
        increment(conn, self.table, self.key, self.column, rows)
        self._deltas.clear()
        self._fixed.clear()


class Flushable(Protocol):
    def flush(self, conn: Connection) -> None: ...


class BatchView:
    """Base of every projection's writer: it gathers one batch's writes in ``parts`` and ``flush``
    writes them, in the order given, inside the batch's transaction (the runner calls it before it
    writes the batch's position, so rows and position commit together)."""

    def __init__(self, conn: Connection, *parts: Flushable) -> None:
        self.conn = conn
        self.parts = parts

    def flush(self) -> None:
        for part in self.parts:
            part.flush(self.conn)


@contextlib.contextmanager
def one_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements all read one snapshot of the read store, on PostgreSQL (REPEATABLE READ):
    for a query that answers from several statements, so that a batch committed between two of them cannot
    show half of itself (queries otherwise run in autocommit, each statement its own snapshot). On the
    embedded store the statements run as before."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


def read_position(conn: Connection, name: str) -> int:
    position = conn.execute(select(projection_tracking.c.position).where(projection_tracking.c.name == name)).scalar()
    return int(position or 0)


def claim_position(conn: Connection, name: str) -> bool:
    """Create ``name``'s tracking row at position zero; False when it exists (another worker may have won)."""
    statement = _insert(conn, projection_tracking).values(name=name, position=0, updated_at=datetime.now(UTC))
    return bool(conn.execute(statement.on_conflict_do_nothing(index_elements=["name"])).rowcount)


def write_position(conn: Connection, name: str, position: int) -> None:
    upsert(
        conn,
        projection_tracking,
        {"name": name, "position": position, "updated_at": datetime.now(UTC)},
        key=["name"],
    )


def write_fingerprint(conn: Connection, name: str, fingerprint: str) -> None:
    """Record that ``name``'s read model was (re)built from zero by the code with ``fingerprint``."""
    upsert(
        conn,
        projection_versions,
        {"name": name, "fingerprint": fingerprint, "built_at": datetime.now(UTC)},
        key=["name"],
    )


def read_fingerprint(conn: Connection, name: str) -> str | None:
    """The fingerprint of the code that built ``name``'s live model; None for a model built before they were kept."""
    statement = select(projection_versions.c.fingerprint).where(projection_versions.c.name == name)
    value = conn.execute(statement).scalar()
    return str(value) if value is not None else None


@dataclass(frozen=True)
class Failure:
    """Why a follower stopped: the event it could not apply, in our words, and how often it tried."""

    position: int
    error_type: str
    error: str
    retries: int
    first_failed_at: datetime
    last_failed_at: datetime


def record_failure(conn: Connection, name: str, position: int, error_type: str, error: str) -> Failure:
    """Note one more failed attempt of ``name`` at ``position`` (the count starts again at a new position)."""
    now = datetime.now(UTC)
    previous = read_failures(conn, [name]).get(name)
    again = previous is not None and previous.position == position
    failure = Failure(
        position=position,
        error_type=error_type[:200],
        error=error[:500],
        retries=previous.retries + 1 if previous is not None and again else 1,
        first_failed_at=previous.first_failed_at if previous is not None and again else now,
        last_failed_at=now,
    )
    upsert(
        conn,
        projection_failures,
        {
            "name": name,
            "failed_position": failure.position,
            "error_type": failure.error_type,
            "error": failure.error,
            "retries": failure.retries,
            "first_failed_at": failure.first_failed_at,
            "last_failed_at": failure.last_failed_at,
        },
        key=["name"],
    )
    return failure


def clear_failure(conn: Connection, name: str) -> None:
    conn.execute(delete(projection_failures).where(projection_failures.c.name == name))


def read_failures(conn: Connection, names: Sequence[str]) -> dict[str, Failure]:
    rows = conn.execute(select(projection_failures).where(projection_failures.c.name.in_(list(names))))
    return {
        row.name: Failure(
            position=row.failed_position,
            error_type=row.error_type,
            error=row.error,
            retries=row.retries,
            first_failed_at=row.first_failed_at,
            last_failed_at=row.last_failed_at,
        )
        for row in rows
    }


def read_positions(conn: Connection, names: Sequence[str]) -> dict[str, int]:
    """Each of ``names``' committed position (zero for one that never committed), in one query."""
    statement = select(projection_tracking.c.name, projection_tracking.c.position).where(
        projection_tracking.c.name.in_(list(names))
    )
    stored = {row.name: int(row.position) for row in conn.execute(statement)}
    return {name: stored.get(name, 0) for name in names}


def reset_position(conn: Connection, name: str) -> None:
    conn.execute(
        update(projection_tracking)
        .where(projection_tracking.c.name == name)
        .values(position=0, updated_at=datetime.now(UTC))
    )


Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list query, in the shape of the HTTP contract."""

    items: list[Row]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def fetch_page(
    engine: Engine,
    query: Select[Any],
    ordering: Sequence[ColumnElement[Any]],
    limit: int,
    offset: int,
    row: type[Row],
) -> Page[Row]:
    """One page of ``query`` in ``ordering`` (rows of the shape ``row``), and the total it would give without paging,
    both read from one snapshot (a batch committed between them would make the total disagree with the page)."""
    with one_snapshot(engine) as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(*ordering).limit(limit).offset(offset)).mappings()
        return Page(items=cast(list[Row], [dict(r) for r in rows]), total=total, limit=limit, offset=offset)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with its own wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def order_by(
    sort: str, columns: Mapping[str, ColumnElement[Any]], tiebreak: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    """``sort`` is a column name, ``-name`` for descending; callers validate it first."""
    column = columns[sort.lstrip("-")]
    return [column.desc() if sort.startswith("-") else column.asc(), tiebreak.asc()]


def create_read_tables(engine: Engine) -> None:
    """Create the read models' missing tables; on PostgreSQL under the schema lock the event store's tables are
    created under, so that processes starting at the same moment take turns instead of racing."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": SCHEMA_LOCK})
        metadata.create_all(conn)
