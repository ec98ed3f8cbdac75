"""Followers woken by events they do not handle: one shared read, no read-model transaction, progress told.

Every save wakes every follower of the process (eighteen of them). A follower that handles none of the new
entries passes over them: ``run_once`` with one compare-and-set statement, the live loop in memory at once
(the board, the other processes through the announcer) and in the store within ``pass_over_seconds``. A
position another worker moved is never overwritten, and the runners of a process share one read of the
log's newest entries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from infrastructure.accounts.tables import accounts as accounts_table
from infrastructure.root import Chronicle
from infrastructure.shared.runner import Follower, PositionBoard, PostgresListener, ProjectionRunner, Wakeups
from tests.conftest import Clock, eventually
from tests.integration.conftest import register


@contextmanager
def statements(container: Chronicle) -> Iterator[list[str]]:
    """The SQL the read-model writer engine sends while inside."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(container.write_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(container.write_engine, "before_cursor_execute", record)


def test_entries_a_follower_does_not_handle_are_passed_over_in_one_statement_with_no_lock(
    container: Chronicle, clock: Clock
) -> None:
    trades = container.runners["trades"]  # handles trade events only
    register(container, clock, "idle-1@example.com")
    trades.catch_up()  # the first batch goes through the lock: the runner knows its position from then on
    register(container, clock, "idle-2@example.com")
    head = container.head_position()

    with statements(container) as sent:
        assert trades.run_once() > 0

    assert container.stored_position("trades") == head
    assert container.board.known("trades") == head
    assert len(sent) == 1, sent
    assert "FOR UPDATE" not in sent[0] and "UPDATE projection_tracking" in sent[0]


def test_a_follower_that_handles_an_entry_still_applies_it_under_the_lock(container: Chronicle, clock: Clock) -> None:
    accounts = container.runners["accounts"]
    register(container, clock, "handled-1@example.com")
    accounts.catch_up()
    register(container, clock, "handled-2@example.com")

    with statements(container) as sent:
        accounts.catch_up()

    assert any("FOR UPDATE" in statement for statement in sent)
    with container.read_engine.connect() as conn:
        emails = set(conn.execute(select(accounts_table.c.email)).scalars())
    assert {"handled-1@example.com", "handled-2@example.com"} <= emails


def test_a_pass_over_never_moves_a_position_that_another_worker_moved(container: Chronicle, clock: Clock) -> None:
    live = container.runners["trades"]
    live.batch_size = 2
    live.catch_up()
    before = container.stored_position("trades")
    for n in range(6):
        register(container, clock, f"moved-{n}@example.com")
    # Another worker of the same follower (a replica that took over the lease) gets further meanwhile.
    other = ProjectionRunner(container.log, container.write_engine, Follower(live.follower.handlers), batch_size=50)
    other.run_once()
    moved = container.stored_position("trades")
    assert moved > before + 2

    live.run_once()  # it still believes the position is `before`: its compare-and-set must fail

    assert container.stored_position("trades") >= moved
    live.catch_up()
    assert container.stored_position("trades") == container.head_position()


def test_the_live_loop_tells_the_board_and_other_processes_at_once_and_writes_the_store_later(
    container: Chronicle, clock: Clock
) -> None:
    trades = container.runners["trades"]
    trades.pass_over_seconds = 3.0
    trades.catch_up()
    # Another process's view: its own board, fed only by its own LISTEN connection.
    elsewhere = PositionBoard(lambda _name: 0)
    listener = PostgresListener(
        container.settings.postgres_conninfo(), container.log.recorder.channel_name, Wakeups(), elsewhere
    )
    listener.start()
    stop = threading.Event()
    loop = threading.Thread(target=trades.run, args=(stop,), daemon=True)
    try:
        time.sleep(0.3)  # the listener is connected
        loop.start()
        register(container, clock, "told-1@example.com")
        head = container.head_position()

        eventually(lambda: container.board.known("trades") >= head, timeout=5)
        eventually(lambda: elsewhere.known("trades") >= head, timeout=5)
        assert container.stored_position("trades") < head  # not written yet: nothing of it was the follower's
        eventually(lambda: container.stored_position("trades") >= head, timeout=10)
    finally:
        stop.set()
        trades.wake.set()
        loop.join(5)
        listener.stop()


def test_a_runner_that_starts_at_the_head_tells_the_board_its_position(container: Chronicle, clock: Clock) -> None:
    # As a process restarted after the last event finds each follower: nothing to apply, the position is stored.
    register(container, clock, "restarted@example.com")
    runner = container.runners["accounts"]
    runner.catch_up()
    head = container.head_position()
    runner._committed = runner._passed = None  # nothing kept in memory, as in a new process
    container.board.forget("accounts")

    assert runner.run_once() == 0

    assert container.board.known("accounts") == head
