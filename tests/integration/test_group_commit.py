"""Group commit on PostgreSQL: concurrent commands share a transaction, keep the log's order, fail alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import psycopg
import pytest

from application.shared.commands import CommandResult
from domain.accounts.values import Profile
from domain.shared.errors import ConcurrencyConflict
from infrastructure.root import Chronicle
from infrastructure.shared.event_store import ChronicleRecorder
from infrastructure.shared.group_commit import GroupCommitRecorder
from tests.conftest import Clock
from tests.integration.conftest import context, register

WRITERS = 16
COMMANDS_EACH = 10


def run_threads(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run each action in its own thread, all released at once; answers results (or raised errors) in order."""
    outcomes: list[Any] = [None] * len(actions)
    start = threading.Barrier(len(actions))

    def work(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = actions[i]()
        except Exception as error:
            outcomes[i] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def test_given_group_commit_is_on_by_default_then_the_postgres_log_uses_the_group_commit_recorder(
    container: Chronicle,
) -> None:
    assert isinstance(container.accounts.recorder, GroupCommitRecorder)


def test_given_many_threads_sending_commands_at_once_then_every_event_lands_at_gap_free_increasing_positions(
    container: Chronicle, clock: Clock, postgres_url: str
) -> None:
    ids = [register(container, clock, f"writer-{w}@example.com") for w in range(WRITERS)]
    head = container.head_position()

    def writer(account_id: UUID) -> Callable[[], list[CommandResult]]:
        def commands() -> list[CommandResult]:
            return [
                container.accounts.update_profile(context(clock), account_id, Profile("Ada", f"Update{n}"))
                for n in range(COMMANDS_EACH)
            ]

        return commands

    outcomes = run_threads([writer(account_id) for account_id in ids])

    assert all(isinstance(results, list) for results in outcomes), outcomes
    for account_id, results in zip(ids, outcomes, strict=True):
        positions = [result.position for result in results]
        assert positions == sorted(positions), "one writer's commands are logged in the order it sent them"
        assert [result.version for result in results] == list(range(3, 3 + COMMANDS_EACH))
        assert container.accounts.repository.get(account_id).profile.last_name == f"Update{COMMANDS_EACH - 1}"
    with psycopg.connect(postgres_url) as conn:
        positions = [row[0] for row in conn.execute("SELECT notification_id FROM chronicle_events ORDER BY 1")]
    assert positions == list(range(1, head + WRITERS * COMMANDS_EACH + 1))


def held_back_as_one_group(
    container: Chronicle,
    postgres_url: str,
    leader: Callable[[], Any],
    queued: list[Callable[[], Any]],
    *,
    in_order: bool = False,
) -> tuple[Any, list[Any]]:
    """Run ``leader`` while the log's table lock is held elsewhere, queue ``queued`` behind it, then release.

    The leader waits inside its insert; the queued commands pile up behind it and are written as one
    group once the lock is released. With ``in_order`` they join the queue one after another in the
    order given, otherwise all at once. Answers the leader's outcome and the queued ones', in order.
    """
    recorder = container.accounts.recorder
    assert isinstance(recorder, GroupCommitRecorder)
    with psycopg.connect(postgres_url) as blocker, ThreadPoolExecutor(max_workers=1 + len(queued)) as pool:
        blocker.execute("LOCK TABLE chronicle_events IN EXCLUSIVE MODE")
        leading = pool.submit(run_threads, [leader])
        wait_until(lambda: _waiting_for_lock(postgres_url), "the leader waits for the table lock")
        if in_order:
            waiting = []
            for n, action in enumerate(queued, start=1):
                waiting.append(pool.submit(run_threads, [action]))
                wait_until(lambda n=n: recorder.queued == n, f"command {n} is queued")  # type: ignore[misc]
        else:
            waiting = [pool.submit(run_threads, queued)]
            wait_until(lambda: recorder.queued == len(queued), "the other commands are queued")
        blocker.rollback()
        return leading.result(timeout=30)[0], [outcome for each in waiting for outcome in each.result(timeout=30)]


def test_given_commands_queued_behind_a_write_then_they_commit_in_one_transaction_at_consecutive_positions(
    container: Chronicle, clock: Clock, postgres_url: str
) -> None:
    first, *others = [register(container, clock, f"grouped-{n}@example.com") for n in range(6)]

    leader, group = held_back_as_one_group(
        container, postgres_url, update(container, clock, first), [update(container, clock, a) for a in others]
    )

    assert isinstance(leader, CommandResult)
    assert all(isinstance(result, CommandResult) for result in group), group
    positions = sorted(result.position for result in group)
    assert positions == list(range(leader.position + 1, leader.position + 1 + len(others)))
    with psycopg.connect(postgres_url) as conn:
        transactions = conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM chronicle_events WHERE originator_id = ANY(%s) "
            "AND originator_version = 3",
            (others,),
        ).fetchone()
    assert transactions == (1,), "the queued commands committed in one transaction"


@pytest.mark.parametrize("conflict_at", [0, 2, 5])
def test_given_a_group_with_a_conflicting_command_then_only_that_command_fails_and_the_others_commit(
    container: Chronicle, clock: Clock, postgres_url: str, conflict_at: int
) -> None:
    raced = register(container, clock, "raced@example.com")
    others = [register(container, clock, f"other-{n}@example.com") for n in range(5)]
    first, second = container.accounts.repository.get(raced), container.accounts.repository.get(raced)
    first.assign_role(role="manager", now=clock())
    second.assign_role(role="auditor", now=clock())

    queued: list[Callable[[], Any]] = [update(container, clock, account_id) for account_id in others]
    queued.insert(conflict_at, lambda: _record(container, clock, second))
    leader, group = held_back_as_one_group(
        container,
        postgres_url,
        lambda: container.accounts.record(context(clock), first),
        queued,
        in_order=True,
    )

    assert isinstance(leader, CommandResult)
    conflicted = group.pop(conflict_at)
    updated = group
    assert isinstance(conflicted, ConcurrencyConflict)
    assert all(isinstance(result, CommandResult) for result in updated), updated
    positions = sorted(result.position for result in updated)
    assert positions == list(range(positions[0], positions[0] + len(updated))), "one group takes consecutive positions"
    assert positions[0] > leader.position
    stored = container.accounts.repository.get(raced)
    assert "manager" in stored.roles and "auditor" not in stored.roles
    for account_id in others:
        assert container.accounts.repository.get(account_id).profile.first_name == "Grace"


def update(container: Chronicle, clock: Clock, account_id: UUID) -> Callable[[], CommandResult]:
    return lambda: container.accounts.update_profile(context(clock), account_id, Profile("Grace", "Hopper"))


def _record(container: Chronicle, clock: Clock, aggregate: Any) -> CommandResult:
    return container.accounts.record(context(clock), aggregate)


def _waiting_for_lock(postgres_url: str) -> bool:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'chronicle_events' AND NOT l.granted"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("group_commit", [False])
def test_given_group_commit_switched_off_then_each_command_commits_alone(
    make_container: Callable[..., Chronicle], group_commit: bool
) -> None:
    container = make_container(group_commit=group_commit)
    assert type(container.accounts.recorder) is ChronicleRecorder  # large saves still take its path
