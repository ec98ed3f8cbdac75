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
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

metadata = MetaData()

projection_tracking = Table(
    "projection_tracking",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
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


def upsert(conn: Connection, table: Table, values: dict[str, Any], key: Sequence[str]) -> None:
    """Insert ``values`` or overwrite the row with the same ``key``: replays stay idempotent."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(table).values(**values)
    changes = {k: v for k, v in values.items() if k not in key}
    if changes:
        conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes))
    else:
        conn.execute(statement.on_conflict_do_nothing(index_elements=list(key)))


def _by_columns(rows: Sequence[Mapping[str, Any]]) -> dict[frozenset[str], list[Mapping[str, Any]]]:
    """Rows grouped by the columns they carry: one executemany statement per shape."""
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[frozenset(row)].append(row)
    return groups


def upsert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> None:
    """``upsert`` for many rows, in one executemany statement per shape of row."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for columns, group in _by_columns(rows).items():
        statement = dialect_insert(table)
        changes = {name: statement.excluded[name] for name in columns if name not in key}
        if changes:
            conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes), group)
        else:
            conn.execute(statement.on_conflict_do_nothing(index_elements=list(key)), group)


def update_many(conn: Connection, table: Table, key: str, changes: Mapping[Any, Mapping[str, Any]]) -> None:
    """Set each keyed row's changed columns, in one executemany statement per set of changed columns."""
    rows = [{**values, "_key": key_value} for key_value, values in changes.items()]
    for columns, group in _by_columns(rows).items():
        assignments: dict[str, Any] = {name: bindparam(name) for name in columns if name != "_key"}
        conn.execute(update(table).where(table.c[key] == bindparam("_key")).values(assignments), group)


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


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with its own wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def order_by(sort: str, columns: Mapping[str, ColumnElement[Any]], tiebreak: ColumnElement[Any]) -> list[Any]:
    """``sort`` is a column name, ``-name`` for descending; callers validate it first."""
    column = columns[sort.lstrip("-")]
    return [column.desc() if sort.startswith("-") else column.asc(), tiebreak.asc()]
