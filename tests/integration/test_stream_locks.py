"""Keyed locks, in this process and on PostgreSQL (two sessions, as two processes have): one holder of a
key at a time, other keys free, a wait past the bound refused as a conflict, a failed block lets go, and a
holder killed with SIGKILL lets go with its process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest

from application.shared.locks import KeyedLocks, LocalLocks
from domain.shared.errors import ConcurrencyConflict
from infrastructure.shared.locks import PostgresLocks

WAIT = 0.3


@pytest.fixture(params=["local", "postgres"])
def locks(request: pytest.FixtureRequest) -> Iterator[tuple[KeyedLocks, KeyedLocks]]:
    """Two handles on one set of locks: the same object in one process; two processes' on PostgreSQL."""
    if request.param == "local":
        local = LocalLocks(WAIT)
        yield local, local
        return
    url = request.getfixturevalue("postgres_url")
    pair = PostgresLocks(url, WAIT), PostgresLocks(url, WAIT)
    yield pair
    for locks in pair:
        locks.close()


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


HOLDER = """
import sys, time, uuid
from infrastructure.shared.locks import PostgresLocks
with PostgresLocks(sys.argv[1]).hold(uuid.UUID(sys.argv[2])):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_key_held_by_a_process_killed_with_sigkill_is_free_again(postgres_url: str) -> None:
    key = uuid4()
    holder = subprocess.Popen(  # noqa: S603 - this interpreter, a script of the test
        [sys.executable, "-c", HOLDER, postgres_url, str(key)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    here = PostgresLocks(postgres_url, WAIT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ConcurrencyConflict), here.hold(key):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 10
        while True:  # the server ends the dead process's session when it sees its socket closed
            try:
                with here.hold(key):
                    break
            except ConcurrencyConflict:
                assert time.monotonic() < deadline, "the killed holder's lock was never let go"
    finally:
        holder.kill()
        holder.wait(10)
        here.close()
