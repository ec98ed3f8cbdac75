"""A page and its total come from one snapshot: a batch committed between the two statements shows in neither,
so the total never disagrees with the rows (queries otherwise run in autocommit, a snapshot per statement)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, event, select

from infrastructure.shared.readstore import create_read_engine, fetch_page

probe = Table("test_snapshot_probe", MetaData(), Column("id", Integer, primary_key=True))


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_read_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=2)
    probe.drop(engine, checkfirst=True)
    probe.create(engine)
    with engine.begin() as conn:
        conn.execute(probe.insert(), [{"id": n} for n in range(1, 4)])
    try:
        yield engine.execution_options(isolation_level="AUTOCOMMIT")  # as Platform.query_engine
    finally:
        probe.drop(engine)
        engine.dispose()


def test_a_row_committed_between_the_total_and_the_page_shows_in_neither(engine: Engine, postgres_url: str) -> None:
    statements = 0

    def commit_in_between(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal statements
        if statement.lstrip().upper().startswith("SELECT"):
            statements += 1
            if statements == 2:  # the total is read; another writer commits before the page is
                with psycopg.connect(postgres_url, autocommit=True) as other:
                    other.execute("INSERT INTO test_snapshot_probe (id) VALUES (4)")

    event.listen(engine.engine, "before_cursor_execute", commit_in_between)
    try:
        page = fetch_page(engine, select(probe.c.id), [probe.c.id], 10, 0, dict)
    finally:
        event.remove(engine.engine, "before_cursor_execute", commit_in_between)

    assert statements == 2
    assert page.total == len(page.items) == 3
