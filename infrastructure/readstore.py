"""The read store: SQLAlchemy engine, the tracking table, and helpers shared by every read model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


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


def create_read_engine(
    url: str, pool_size: int = 10, *, max_overflow: int | None = None, writer: bool = False
) -> Engine:
    """An engine for the read store; ``writer`` engines serialize their transactions on SQLite."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets API readers and the projection writer work at once.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
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
    return create_engine(url, pool_size=pool_size, max_overflow=overflow, pool_pre_ping=True)


def _insert(conn: Connection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, in the connection's dialect."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def upsert(
    conn: Connection, table: Table, values: Mapping[str, Any] | Sequence[Mapping[str, Any]], key: Sequence[str]
) -> None:
    """Insert the row(s) or overwrite those with the same ``key``: replays stay idempotent.

    Many rows go to the server as one executemany statement per shape of row (set of columns).
    """
    rows = [values] if isinstance(values, Mapping) else values
    for columns, group in _by_columns(rows).items():
        statement = _insert(conn, table)
        changes = {name: statement.excluded[name] for name in columns if name not in key}
        if changes:
            conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes), group)
        else:
            conn.execute(statement.on_conflict_do_nothing(index_elements=list(key)), group)


def increment(
    conn: Connection, table: Table, key: Sequence[str], column: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Add each row's ``column`` to the stored row with the same ``key``, creating missing rows as given.

    A row whose count comes back to zero is removed, so the table holds the same rows however the
    changes were batched (a rebuild in one batch and a live run in many agree row for row).
    """
    if not rows:
        return
    statement = _insert(conn, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key), set_={column: table.c[column] + statement.excluded[column]}
    )
    conn.execute(statement, list(rows))
    at_key = [table.c[name] == bindparam(f"k_{name}") for name in key]
    conn.execute(delete(table).where(*at_key, table.c[column] == 0), [{f"k_{n}": row[n] for n in key} for row in rows])


def _by_columns(rows: Sequence[Mapping[str, Any]]) -> dict[frozenset[str], list[Mapping[str, Any]]]:
    """Rows grouped by the columns they carry: one executemany statement per shape."""
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[frozenset(row)].append(row)
    return groups


def update_many(conn: Connection, table: Table, key: str, changes: Mapping[Any, Mapping[str, Any]]) -> None:
    """Set each keyed row's changed columns, in one executemany statement per set of changed columns."""
    rows = [{**values, "_key": key_value} for key_value, values in changes.items()]
    for columns, group in _by_columns(rows).items():
        assignments: dict[str, Any] = {name: bindparam(name) for name in columns if name != "_key"}
        conn.execute(update(table).where(table.c[key] == bindparam("_key")).values(assignments), group)


class PendingRows:
    """A batch's writes to one table, held back and merged: rows it adds, and changes to stored rows.

    A view that uses it reads its own writes through ``row``/``changes`` and calls ``flush`` from its
    own ``flush`` (the runner's, inside the batch's transaction): one executemany per shape of row.
    """

    def __init__(self, table: Table, key: str) -> None:
        self.table = table
        self.key = key
        self.added: dict[Any, dict[str, Any]] = {}
        self.changed: dict[Any, dict[str, Any]] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        self.added[row[self.key]] = dict(row)

    def change(self, key: Any, **fields: Any) -> None:
        added = self.added.get(key)
        if added is not None:
            added.update(fields)
        else:
            self.changed.setdefault(key, {}).update(fields)

    def added_row(self, key: Any) -> dict[str, Any] | None:
        """The whole row, if this batch added it."""
        return self.added.get(key)

    def changes(self, key: Any) -> dict[str, Any]:
        """What this batch changed in a stored row (nothing, if it did not)."""
        return self.changed.get(key, {})

    def flush(self, conn: Connection) -> None:
        upsert(conn, self.table, list(self.added.values()), [self.key])
        update_many(conn, self.table, self.key, self.changed)
        self.added.clear()
        self.changed.clear()


def read_position(conn: Connection, name: str) -> int:
    position = conn.execute(select(projection_tracking.c.position).where(projection_tracking.c.name == name)).scalar()
    return int(position or 0)


def write_position(conn: Connection, name: str, position: int) -> None:
    upsert(
        conn,
        projection_tracking,
        {"name": name, "position": position, "updated_at": datetime.now(UTC)},
        key=["name"],
    )


def reset_position(conn: Connection, name: str) -> None:
    conn.execute(
        update(projection_tracking)
        .where(projection_tracking.c.name == name)
        .values(position=0, updated_at=datetime.now(UTC))
    )


@dataclass(frozen=True)
class Page:
    """One page of a list query, in the shape of the HTTP contract."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def fetch_page(engine: Engine, query: Any, ordering: Sequence[Any], limit: int, offset: int) -> Page:
    """One page of ``query`` in ``ordering``, and the total it would give without paging."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(*ordering).limit(limit).offset(offset)).mappings()
        return Page(items=[dict(r) for r in rows], total=total, limit=limit, offset=offset)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with its own wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def order_by(sort: str, columns: Mapping[str, ColumnElement[Any]], tiebreak: ColumnElement[Any]) -> list[Any]:
    """``sort`` is a column name, ``-name`` for descending; callers validate it first."""
    column = columns[sort.lstrip("-")]
    return [column.desc() if sort.startswith("-") else column.asc(), tiebreak.asc()]
