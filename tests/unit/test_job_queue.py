"""``Jobs.enqueue``: a task a command or another task asks for, delivered by Celery where it runs (``deliver_with``)
or by this process's queue, which ``run_pending`` (and the ``JobTimer``) runs once each task is due."""

from __future__ import annotations

import logging
import threading
import time
from uuid import UUID

import pytest

from infrastructure.flows.jobs import ADVANCE_TASK, JobsRunQueue
from infrastructure.shared.jobs import Jobs, JobTimer, TaskArgs, UnknownJob
from infrastructure.shared.platform import utc_now


def a_jobs(ran: list[tuple[str, ...]]) -> Jobs:
    jobs = Jobs(utc_now)
    jobs.add_task("t.note", lambda *args: ran.append(args))
    return jobs


def test_an_unknown_task_cannot_be_enqueued() -> None:
    with pytest.raises(UnknownJob):
        a_jobs([]).enqueue("t.nobody", ())


def test_queued_tasks_run_in_order_once_due_and_a_countdown_holds_one_back() -> None:
    ran: list[tuple[str, ...]] = []
    jobs = a_jobs(ran)
    jobs.enqueue("t.note", ("later",), countdown=0.3)
    jobs.enqueue("t.note", ("first",))
    jobs.enqueue("t.note", ("second",))
    assert jobs.pending == 3
    assert jobs.run_pending() == 2
    assert ran == [("first",), ("second",)]
    time.sleep(0.35)
    assert jobs.run_pending() == 1 and ran[-1] == ("later",)
    assert jobs.pending == 0


def test_tasks_a_task_enqueues_run_in_the_same_drain_and_a_failing_one_does_not_stop_the_rest() -> None:
    ran: list[tuple[str, ...]] = []
    jobs = a_jobs(ran)

    def chain(n: int) -> None:
        if n == 2:
            raise RuntimeError("boom")
        ran.append((str(n),))
        if n < 4:
            jobs.enqueue("t.chain", (n + 1,), countdown=60)

    jobs.add_task("t.chain", chain)
    jobs.enqueue("t.chain", (0,))
    jobs.enqueue("t.note", ("after",))
    assert jobs.run_pending(ignore_countdown=True) == 4
    assert ran == [("0",), ("after",), ("1",)]


def test_with_a_sender_every_enqueued_task_goes_to_it_with_its_countdown() -> None:
    sent: list[tuple[str, TaskArgs, float | None]] = []
    jobs = a_jobs([])
    jobs.deliver_with(lambda name, args, countdown: sent.append((name, args, countdown)))
    jobs.enqueue("t.note", ("a", 1), countdown=2.5)
    jobs.enqueue("t.note", ("b",))
    assert sent == [("t.note", ("a", 1), 2.5), ("t.note", ("b",), None)]
    assert jobs.pending == 0 and not jobs.delivered_here


def test_the_timer_runs_an_enqueued_task_at_once_not_at_its_next_tick() -> None:
    done = threading.Event()
    jobs = Jobs(utc_now)
    jobs.add_task("t.done", done.set)
    stop = threading.Event()
    timer = JobTimer(jobs, stop, tick_seconds=30.0)
    timer.start()
    try:
        began = time.monotonic()
        jobs.enqueue("t.done", ())
        assert done.wait(5.0)
        assert time.monotonic() - began < 5.0
    finally:
        stop.set()
        jobs.wake()  # the timer's idle wait ends, so it sees the stop
        timer.join(5.0)


def test_a_broker_refusing_a_flow_runs_next_step_is_logged_and_the_command_still_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = Jobs(utc_now)
    jobs.add_task(ADVANCE_TASK, lambda *args: None)

    def refuse(name: str, args: TaskArgs, countdown: float | None) -> None:
        raise ConnectionError("the broker is down")

    jobs.deliver_with(refuse)
    with caplog.at_level(logging.WARNING, logger="chronicle.flows"):
        JobsRunQueue(jobs).advance_later(UUID(int=7), 3)
    assert "resume sweep" in caplog.text
