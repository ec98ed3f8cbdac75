"""Keyed locks, in this process and on PostgreSQL (two engines: two processes' pools): one holder of a
key at a time, other keys free, a wait past the bound refused as a conflict, a failed block lets go."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
from sqlalchemy import Engine, create_engine

from application.shared.locks import KeyedLocks, LocalLocks
from domain.shared.errors import ConcurrencyConflict
from infrastructure.shared.locks import PostgresLocks

WAIT = 0.3


@pytest.fixture
def engines(postgres_url: str) -> Iterator[tuple[Engine, Engine]]:
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    pair = create_engine(url, pool_size=2), create_engine(url, pool_size=2)
    yield pair
    for engine in pair:
        engine.dispose()


@pytest.fixture(params=["local", "postgres"])
def locks(request: pytest.FixtureRequest) -> tuple[KeyedLocks, KeyedLocks]:
    """Two handles on one set of locks: the same object in one process, two processes' on PostgreSQL."""
    if request.param == "local":
        local = LocalLocks(WAIT)
        return local, local
    one, other = request.getfixturevalue("engines")
    return PostgresLocks(one, WAIT), PostgresLocks(other, WAIT)


def test_a_key_has_one_holder_and_the_other_waits_its_turn(locks: tuple[KeyedLocks, KeyedLocks]) -> None:
    here, there = locks
    key = uuid4()
    held, order = threading.Event(), []

    def first() -> None:
        with here.hold(key):
            held.set()
            time.sleep(WAIT / 3)
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    assert held.wait(5)
    with there.hold(key):
        order.append("second")
    thread.join(5)

    assert order == ["first", "second"]


def test_a_wait_past_the_bound_is_a_conflict_and_other_keys_are_free(locks: tuple[KeyedLocks, KeyedLocks]) -> None:
    here, there = locks
    key = uuid4()
    with here.hold(key):
        started = time.monotonic()
        with pytest.raises(ConcurrencyConflict), there.hold(key):
            pass
        waited = time.monotonic() - started
        with there.hold(uuid4()):
            pass

    assert waited >= WAIT * 0.9


def test_a_block_that_fails_lets_the_key_go(locks: tuple[KeyedLocks, KeyedLocks]) -> None:
    here, there = locks
    key = uuid4()
    with pytest.raises(RuntimeError), here.hold(key):
        raise RuntimeError("the charge failed")

    with there.hold(key):
        pass


def test_the_local_table_forgets_keys_nobody_holds() -> None:
    locks = LocalLocks(WAIT)
    for _ in range(100):
        with locks.hold(uuid4()):
            pass

    assert len(locks) == 0
