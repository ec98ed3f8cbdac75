"""The read store's batch writes on PostgreSQL: many rows in one ``INSERT … SELECT … FROM json_to_recordset(…)``
write exactly what one row at a time would (the same values, the same refusals), and the cases it does not take
stay row by row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    event,
    select,
)
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.exc import DataError

from infrastructure.shared.readstore import UtcDateTime, upsert

scratch = MetaData()
things = Table(
    "test_batch_writes_things",
    scratch,
    Column("id", SqlUuid, primary_key=True),
    Column("name", String(8), nullable=False),
    Column("count", Integer),
    Column("price", Numeric(10, 2)),
    Column("flag", Boolean),
    Column("born", Date),
    Column("at", UtcDateTime),
)
documents = Table(
    "test_batch_writes_documents",
    scratch,
    Column("id", SqlUuid, primary_key=True),
    Column("body", JSON),
)

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    scratch.drop_all(engine)
    scratch.create_all(engine)
    yield engine
    scratch.drop_all(engine)
    engine.dispose()


def statements_of(engine: Engine) -> list[tuple[str, bool]]:
    """(SQL, executemany) of every statement the engine sends from now on."""
    sent: list[tuple[str, bool]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        sent.append((statement, many))

    return sent


def row(name: str, **fields: Any) -> dict[str, Any]:
    values = {"id": uuid4(), "name": name, "count": 1, "price": Decimal("1.10"), "flag": True, "born": None, "at": AT}
    return {**values, **fields}


def stored(engine: Engine) -> dict[UUID, dict[str, Any]]:
    with engine.connect() as conn:
        return {r["id"]: dict(r) for r in conn.execute(select(things)).mappings()}


def test_many_rows_go_in_one_statement_and_read_back_as_given(engine: Engine) -> None:
    rows = [row(f"n{i}", count=i, price=Decimal("2.5") * i, born=date(1990, 1, 1 + i)) for i in range(5)]
    rows.append(row("nulls", count=None, price=None, flag=None, born=None, at=None))  # a column of only NULLs too
    sent = statements_of(engine)

    with engine.begin() as conn:
        upsert(conn, things, rows, ["id"])

    assert len(sent) == 1 and not sent[0][1] and "json_to_recordset" in sent[0][0]
    assert stored(engine) == {r["id"]: r for r in rows}


def test_an_upsert_of_stored_rows_overwrites_them(engine: Engine) -> None:
    first = [row("a"), row("b")]
    with engine.begin() as conn:
        upsert(conn, things, first, ["id"])
    again = [{**first[0], "name": "a2", "count": 7}, {**first[1], "flag": False}, row("c")]

    with engine.begin() as conn:
        upsert(conn, things, again, ["id"])

    assert stored(engine) == {r["id"]: r for r in again}


def test_a_value_too_long_for_its_column_is_refused_not_cut(engine: Engine) -> None:
    # A cast to the column's own VARCHAR(8)[] would truncate silently; the batch must fail as a row insert does.
    with pytest.raises(DataError), engine.begin() as conn:
        upsert(conn, things, [row("short"), row("much-too-long")], ["id"])

    assert stored(engine) == {}


def test_a_value_with_more_places_is_rounded_as_a_row_insert_rounds_it(engine: Engine) -> None:
    one, many = row("one", price=Decimal("1.005")), [row("m1", price=Decimal("1.005")), row("m2")]
    with engine.begin() as conn:
        upsert(conn, things, one, ["id"])
        upsert(conn, things, many, ["id"])

    prices = {r["name"]: r["price"] for r in stored(engine).values()}
    assert prices["one"] == prices["m1"] == Decimal("1.01")


def test_a_key_given_twice_and_a_column_without_an_array_form_go_row_by_row(engine: Engine) -> None:
    twice = row("first")
    sent = statements_of(engine)

    with engine.begin() as conn:
        upsert(conn, things, [twice, {**twice, "name": "second"}], ["id"])  # the later row wins, as before
        upsert(conn, documents, [{"id": uuid4(), "body": {"a": [1]}}, {"id": uuid4(), "body": None}], ["id"])

    assert [many for sql, many in sent if sql.startswith("INSERT")] == [True, True]
    assert [r["name"] for r in stored(engine).values()] == ["second"]
    with engine.connect() as conn:
        assert sorted(str(body) for body in conn.execute(select(documents.c.body)).scalars()) == ["None", "{'a': [1]}"]


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    LARGE = 3


class Plain(Enum):
    ONE = "one-value"


def test_enums_on_str_or_int_go_in_one_statement_as_their_values(engine: Engine) -> None:
    rows = [row(Colour.RED, count=Size.LARGE), row("plain", count=2)]
    sent = statements_of(engine)

    with engine.begin() as conn:
        upsert(conn, things, rows, ["id"])

    assert [many for _, many in sent] == [False]
    assert sorted((r["name"], r["count"]) for r in stored(engine).values()) == [("plain", 2), ("red", 3)]


def test_values_json_cannot_carry_as_a_row_would_go_row_by_row(engine: Engine) -> None:
    # A plain enum member: psycopg writes its name, where JSON would carry its value.
    sent = statements_of(engine)
    with engine.begin() as conn:
        upsert(conn, things, [row(Plain.ONE), row("other")], ["id"])  # type: ignore[arg-type]

    assert [many for _, many in sent] == [True]
    assert sorted(r["name"] for r in stored(engine).values()) == ["ONE", "other"]

    # A bool where a number goes (psycopg's cast takes it, JSON's integer input would not): as a row writes it.
    with engine.begin() as conn:
        upsert(conn, things, [row("yes", count=True), row("no", count=False)], ["id"])
    assert [many for sql, many in sent if sql.startswith("INSERT")] == [True, True]
    assert sorted((r["name"], r["count"]) for r in stored(engine).values() if r["name"] in ("yes", "no")) == [
        ("no", 0),
        ("yes", 1),
    ]

    # An integer past 64 bits (orjson refuses it): the store refuses it as it refuses a single row.
    with pytest.raises(DataError), engine.begin() as conn:
        upsert(conn, things, [row("big", count=2**70), row("small")], ["id"])
    assert [many for sql, many in sent if sql.startswith("INSERT")] == [True, True, True]
