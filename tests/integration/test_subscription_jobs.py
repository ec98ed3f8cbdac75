"""The subscriptions sweep and renewal task on real Celery worker processes, PostgreSQL and Redis.

A subscription is started 35 days ago (the test's clock), so by the workers' real clock its renewal
is due. The workers are ``celery -A interfaces.worker worker --pool=solo``: the production app, over
the same database. A worker is SIGKILLed in the middle of a renewal (the offline gateway's ``pm_slow``
records the charge, then holds the answer); after redelivery to a new worker the renewal happened
once and the gateway charged once.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis
from celery import Celery
from sqlalchemy import select

from domain.subscriptions.subscription import Subscription
from infrastructure.root import Chronicle
from infrastructure.shared.jobs import SWEEP_TASK
from infrastructure.shared.settings import Settings
from infrastructure.subscriptions.gateway import gateway_charges
from infrastructure.subscriptions.jobs import ADVANCE_TASK
from interfaces.worker import create_celery
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually, make_settings
from tests.integration.celery_workers import CeleryWorkers
from tests.integration.conftest import ContainerFactory, context

WORKER_APP = "interfaces.worker"


@pytest.fixture
def worker_env(celery_env: dict[str, str], postgres_url: str) -> dict[str, str]:
    """The workers' settings: the test's database, small pools, and a visibility timeout above a slow charge."""
    celery_env.update(
        DATABASE_URL=postgres_url,
        JWT_SECRET=TEST_JWT_SECRET,
        PII_MASTER_KEY=TEST_PII_MASTER_KEY,
        SUPERADMIN_EMAIL="",
        POSTGRES_POOL_SIZE="1",
        POSTGRES_MAX_OVERFLOW="1",
        READ_POOL_SIZE="2",
        CELERY_TASK_TIME_LIMIT_SECONDS="10",
        CELERY_VISIBILITY_TIMEOUT_SECONDS="12",
    )
    return celery_env


@pytest.fixture
def sender(worker_env: dict[str, str]) -> Celery:
    """The test's end of the broker: the production app with the workers' settings (it opens nothing here)."""
    return create_celery(Settings(**{name.lower(): value for name, value in worker_env.items()}))  # type: ignore[arg-type]


@pytest.fixture
def chronicle(make_container: ContainerFactory) -> Chronicle:
    return make_container()


def due_subscription(chronicle: Chronicle, clock: Clock, payment_method: str) -> tuple[UUID, UUID]:
    """A monthly subscription started 35 days ago and paid then: its renewal is due now. (account, subscription)"""
    real_now = datetime.now(UTC)
    clock.now = real_now - timedelta(days=35)
    app = chronicle.subscriptions
    app.create_plan(context(clock), code="pro", name="Pro", price=Decimal("20.00"), currency="EUR", interval="month")
    account = uuid4()
    app.subscribe(context(clock), account, "pro", payment_method="pm_ok")
    if payment_method != "pm_ok":
        app.update_payment_method(context(clock), account, payment_method)
    clock.now = real_now
    chronicle.runners["subscriptions"].catch_up()
    subscription = app.subscription_id_of(account)
    assert subscription is not None
    return account, subscription


def renewals(chronicle: Chronicle, subscription: UUID) -> int:
    events = chronicle.subscriptions.repository.event_store.get(subscription)
    return sum(isinstance(event, Subscription.Renewed) for event in events)


def charges(chronicle: Chronicle, account: UUID) -> list[Any]:
    query = (
        select(gateway_charges).where(gateway_charges.c.account_id == account).order_by(gateway_charges.c.charged_at)
    )
    with chronicle.read_engine.connect() as conn:
        return list(conn.execute(query))


def drained(broker_url: str, queue: str) -> bool:
    """Nothing waiting in the queue and nothing delivered but unacknowledged."""
    client = redis.Redis.from_url(broker_url)
    try:
        return client.llen(queue) == 0 and client.hlen("unacked") == 0
    finally:
        client.close()


@pytest.mark.parametrize(("pool", "cli"), [("solo", False), ("prefork", False), ("solo", True)])
def test_the_sweep_on_a_worker_renews_a_due_subscription_once_however_often_it_runs(
    chronicle: Chronicle,
    clock: Clock,
    workers: CeleryWorkers,
    sender: Celery,
    worker_env: dict[str, str],
    pool: str,
    cli: bool,
) -> None:
    account, subscription = due_subscription(chronicle, clock, "pm_ok")
    workers.start(WORKER_APP, ready=sender, pool=pool, cli=cli)

    # Twice before the read model has seen the renewal: both sweeps find the subscription due.
    sender.send_task(SWEEP_TASK, args=["subscriptions"])
    sender.send_task(SWEEP_TASK, args=["subscriptions"])

    eventually(lambda: renewals(chronicle, subscription) == 1, timeout=90)
    eventually(lambda: drained(worker_env["CELERY_BROKER_URL"], worker_env["CELERY_QUEUE"]), timeout=90)
    assert renewals(chronicle, subscription) == 1
    _first, renewal = charges(chronicle, account)
    assert (renewal.status, renewal.amount, renewal.requests) == ("succeeded", Decimal("20.00"), 1)
    chronicle.runners["subscriptions"].catch_up()
    assert chronicle.subscription_queries.due(datetime.now(UTC), 10) == []


def test_a_worker_killed_in_the_middle_of_a_renewal_leaves_it_to_the_next_which_renews_and_charges_once(
    chronicle: Chronicle, clock: Clock, workers: CeleryWorkers, sender: Celery, worker_env: dict[str, str]
) -> None:
    account, subscription = due_subscription(chronicle, clock, "pm_slow")
    first = workers.start(WORKER_APP, ready=sender)
    sender.send_task(ADVANCE_TASK, args=[str(subscription), datetime.now(UTC).isoformat()])
    # The gateway has charged the renewal and holds its answer: the worker is inside the task.
    eventually(lambda: len(charges(chronicle, account)) == 2, timeout=60)

    workers.kill(first)
    assert renewals(chronicle, subscription) == 0  # killed before the renewal was saved
    workers.start(WORKER_APP, ready=sender)

    # Back in the queue once the visibility timeout (12 s here) has passed since delivery.
    eventually(lambda: renewals(chronicle, subscription) == 1, timeout=120)
    eventually(lambda: drained(worker_env["CELERY_BROKER_URL"], worker_env["CELERY_QUEUE"]), timeout=90)
    assert renewals(chronicle, subscription) == 1
    renewal = charges(chronicle, account)[1:]
    assert [(row.status, row.amount, row.requests) for row in renewal] == [("succeeded", Decimal("20.00"), 2)]


def test_on_the_embedded_store_the_api_process_renews_a_due_subscription_on_its_own_timer(
    tmp_path: Path, clock: Clock
) -> None:
    settings = make_settings(tmp_path, None, None, superadmin_email=None, billing_sweep_seconds=1)
    assert settings.jobs_run_in_process
    chronicle = Chronicle(settings, clock=clock)
    chronicle.start()
    try:
        app = chronicle.subscriptions
        app.create_plan(context(clock), code="pro", name="Pro", price=Decimal("9.00"), currency="EUR", interval="month")
        account = uuid4()
        app.subscribe(context(clock), account, "pro", payment_method="pm_ok")
        subscription = app.subscription_id_of(account)
        assert subscription is not None

        clock.advance(days=35)

        eventually(lambda: renewals(chronicle, subscription) == 1, timeout=60)
        assert [row.requests for row in charges(chronicle, account)] == [1, 1]
    finally:
        chronicle.close()


def test_a_worker_that_cannot_open_the_stores_stops_rather_than_run_without_its_tasks(
    workers: CeleryWorkers, worker_env: dict[str, str], postgres_url: str
) -> None:
    worker_env["DATABASE_URL"] = postgres_url.rsplit("/", 1)[0] + "/no_such_database_for_jobs"

    worker = workers.start(WORKER_APP, ready=None)

    assert worker.process.wait(timeout=120) != 0
    assert "worker cannot start" in worker.output()


def test_a_prefork_child_killed_mid_renewal_gives_the_task_back_at_once_and_it_renews_and_charges_once(
    chronicle: Chronicle, clock: Clock, workers: CeleryWorkers, sender: Celery, worker_env: dict[str, str]
) -> None:
    account, subscription = due_subscription(chronicle, clock, "pm_slow")
    worker = workers.start(WORKER_APP, ready=sender, pool="prefork")
    sender.send_task(ADVANCE_TASK, args=[str(subscription), datetime.now(UTC).isoformat()])
    eventually(lambda: len(charges(chronicle, account)) == 2, timeout=60)

    [child] = workers.children(worker)
    os.kill(child, signal.SIGKILL)

    # The parent sees its child lost and gives the message back (task_reject_on_worker_lost): a new child runs it.
    eventually(lambda: renewals(chronicle, subscription) == 1, timeout=120)
    eventually(lambda: drained(worker_env["CELERY_BROKER_URL"], worker_env["CELERY_QUEUE"]), timeout=90)
    assert renewals(chronicle, subscription) == 1
    renewal = charges(chronicle, account)[1:]
    assert [(row.status, row.amount, row.requests) for row in renewal] == [("succeeded", Decimal("20.00"), 2)]
    assert "WorkerLostError" in worker.output()
