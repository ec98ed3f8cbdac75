"""A projection worker that dies mid-batch resumes where its last commit left it: no row lost, none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Connection, func, select

from infrastructure.accounts.tables import ACCOUNT_TABLES, account_roles, accounts
from infrastructure.accounts.writer import SqlAccountsView
from infrastructure.root import Chronicle
from infrastructure.shared.runner import EventNotApplied, Follower, ProjectionRunner
from projections.accounts.projection import AccountsProjection
from tests.conftest import TEST_PII_MASTER_KEY, Clock
from tests.integration.conftest import account_versions, context, register

ACCOUNTS = 30


class WorkerDied(RuntimeError):
    """Stands in for the worker process dying in the middle of a batch."""


def dying_view_factory(*, in_batch: int, on_call: int) -> Callable[[Connection], Any]:
    """A SqlAccountsView factory whose ``in_batch``-th view raises on its ``on_call``-th write."""
    made = 0

    class DyingView:
        def __init__(self, conn: Connection, doomed: bool) -> None:
            self._inner = SqlAccountsView(conn)
            self._doomed = doomed
            self._calls = 0

        def __getattr__(self, name: str) -> Any:
            method = getattr(self._inner, name)

            def write(*args: Any, **kwargs: Any) -> Any:
                self._calls += 1
                if self._doomed and self._calls == on_call:
                    raise WorkerDied(f"worker died on write {on_call} of batch {in_batch}")
                return method(*args, **kwargs)

            return write

    def factory(conn: Connection) -> DyingView:
        nonlocal made
        made += 1
        return DyingView(conn, doomed=made == in_batch)

    return factory


def populate(container: Chronicle, clock: Clock, count: int = ACCOUNTS) -> list[UUID]:
    """``count`` accounts; every third gets a role too, so aggregate versions differ."""
    ids = []
    for n in range(count):
        account_id = register(container, clock, f"resume-{n}@example.com")
        if n % 3 == 0:
            container.accounts.assign_role(context(clock), account_id, "manager")
        ids.append(account_id)
    return ids


def position(container: Chronicle) -> int:
    return container.stored_position("accounts")


def row_count(container: Chronicle) -> int:
    with container.read_engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(accounts)).scalar_one()


def assert_read_model_matches_aggregates(container: Chronicle, ids: list[UUID]) -> None:
    versions = account_versions(container)
    assert sorted(versions) == sorted(ids)  # exactly these accounts, each once
    with container.read_engine.connect() as conn:
        roles = sorted(tuple(r) for r in conn.execute(select(account_roles.c.account_id, account_roles.c.role)))
    expected_roles = []
    for account_id in ids:
        aggregate = container.accounts.repository.get(account_id)
        assert versions[account_id] == aggregate.version, account_id
        expected_roles += [(account_id, role) for role in aggregate.roles]
    assert roles == sorted(expected_roles)
    assert position(container) == container.head_position()


def dying_runner(container: Chronicle, batch_size: int, *, in_batch: int, on_call: int) -> ProjectionRunner:
    follower = Follower(AccountsProjection(), dying_view_factory(in_batch=in_batch, on_call=on_call), ACCOUNT_TABLES)
    return ProjectionRunner(container.log, container.write_engine, follower, batch_size=batch_size)


def test_given_a_worker_that_dies_on_the_17th_write_of_its_only_batch_then_nothing_is_committed_and_a_resume_completes(
    container: Chronicle, clock: Clock
) -> None:
    ids = populate(container, clock)
    runner = dying_runner(container, 50, in_batch=1, on_call=17)

    with pytest.raises(EventNotApplied) as died:
        runner.run_once()
    assert isinstance(died.value.cause, WorkerDied)

    assert row_count(container) == 0
    assert position(container) == 0

    container.runners["accounts"].catch_up()
    assert row_count(container) == ACCOUNTS
    assert_read_model_matches_aggregates(container, ids)


def test_given_batches_of_ten_when_the_worker_dies_in_the_third_batch_then_the_first_two_stay_and_a_resume_completes(
    container: Chronicle, clock: Clock
) -> None:
    ids = populate(container, clock)
    log = container.log.recorder.select_notifications(start=1, limit=1000)
    runner = dying_runner(container, 10, in_batch=3, on_call=2)

    with pytest.raises(EventNotApplied) as died:
        runner.catch_up()
    assert isinstance(died.value.cause, WorkerDied)

    end_of_batch_two = log[19].id
    assert position(container) == end_of_batch_two
    registered_in_first_two = {n.originator_id for n in log[:20] if n.topic.endswith("Account.Registered")}
    assert set(account_versions(container)) == registered_in_first_two

    container.runners["accounts"].batch_size = 10
    container.runners["accounts"].catch_up()
    assert row_count(container) == ACCOUNTS
    assert_read_model_matches_aggregates(container, ids)


_WORKER = """
import os, sys, time
from pathlib import Path
from infrastructure.accounts.writer import SqlAccountsView
from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings

settings = Settings(
    database_url=os.environ["CHRONICLE_TEST_DATABASE_URL"],
    data_dir=Path(os.environ["CHRONICLE_TEST_DATA_DIR"]),
    redis_url=None,
    superadmin_email=None,
    run_projections_in_process=False,
    jwt_secret="a-test-worker-secret-of-forty-bytes-0123",
    pii_master_key=os.environ["CHRONICLE_TEST_PII_MASTER_KEY"],  # the parent's: it sealed what this worker opens
)
container = Chronicle(settings)
container.open()
runner = container.runners["accounts"]
runner.batch_size = 1


class SlowView(SqlAccountsView):
    # Each write takes a moment, so the parent's kill lands while the log is half folded.
    def update_account(self, *args, **kwargs):
        time.sleep(0.02)
        super().update_account(*args, **kwargs)


runner.follower.view_factory = SlowView
print("worker ready", flush=True)
while True:
    if runner.run_once() == 0:
        time.sleep(0.05)
"""


def test_given_a_worker_process_killed_with_sigkill_mid_run_then_a_resume_folds_every_account_exactly_once(
    container: Chronicle, clock: Clock, postgres_url: str, tmp_path: Path
) -> None:
    ids = populate(container, clock)
    head = container.head_position()
    env = {
        **os.environ,
        "CHRONICLE_TEST_DATABASE_URL": postgres_url,
        "CHRONICLE_TEST_DATA_DIR": str(tmp_path / "worker"),
        "CHRONICLE_TEST_PII_MASTER_KEY": TEST_PII_MASTER_KEY,
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", _WORKER], cwd=Path(__file__).parents[2], env=env, stdout=log_file, stderr=log_file
        )
    try:
        deadline = time.monotonic() + 30
        while position(container) == 0:
            assert worker.poll() is None, f"the worker exited early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"the worker made no progress:\n{log_path.read_text()}"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)

    killed_at = position(container)
    assert 0 < killed_at < head, "the kill should land while the worker is mid-run"

    container.runners["accounts"].catch_up()
    assert row_count(container) == ACCOUNTS
    assert_read_model_matches_aggregates(container, ids)


def test_batches_read_ahead_fold_the_same_rows_and_a_read_ahead_another_worker_overtook_is_not_used(
    container: Chronicle, clock: Clock
) -> None:
    # Given a log of several batches of ten, and two workers of the same follower
    ids = populate(container, clock)
    log = container.log.recorder.select_notifications(start=1, limit=1000)
    first, other = (
        ProjectionRunner(
            container.log,
            container.write_engine,
            Follower(AccountsProjection(), SqlAccountsView, ACCOUNT_TABLES),
            batch_size=10,
        )
        for _ in range(2)
    )
    reads: list[int] = []
    select = first._select

    def counted(start: int, limit: int, until: int | None) -> Any:
        reads.append(start)
        return select(start, limit, until)

    first._select = counted  # type: ignore[method-assign]

    # When the first applies a full batch, it reads the next one ahead, on a thread of its own
    assert first.run_once() == 10
    ahead = first._ahead
    assert ahead is not None and ahead.start == log[9].id + 1
    assert [n.id for n in ahead.result()] == [n.id for n in log[10:20]]

    # And when another worker applies that batch first, the first reads on from where the other stopped
    assert other.run_once() == 10
    assert first.run_once() == 10
    assert position(container) == log[29].id  # not the batch read ahead a second time
    assert log[19].id + 1 in reads

    # Then folding the rest with reads ahead leaves exactly the read model a plain catch-up builds
    first.catch_up()
    assert_read_model_matches_aggregates(container, ids)
    assert first._ahead is None  # the last batch was short: nothing more was read
