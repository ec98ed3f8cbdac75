"""A flow run on a real Celery worker process (the production app with the flows test adapters), PostgreSQL
and Redis: the test process starts the run (its first step goes out as a Celery message), the worker
executes the three steps one message at a time, recording each before sending the next."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest
import redis
from celery import Celery

from domain.flows.run import FlowRun, signal_trade_id
from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.worker import create_celery
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually, make_settings
from tests.integration.celery_workers import CeleryWorkers
from tests.integration.conftest import context, wipe_database
from tests.integration.flows_worker_app import flows_adapters
from tests.unit.flow_builders import step

WORKER_APP = "tests.integration.flows_worker_app"


@pytest.fixture
def worker_env(celery_env: dict[str, str], postgres_url: str, redis_url: str) -> dict[str, str]:
    celery_env.update(
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        FLOWS_PROBE_REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        PII_MASTER_KEY=TEST_PII_MASTER_KEY,
        SUPERADMIN_EMAIL="",
        POSTGRES_POOL_SIZE="1",
        POSTGRES_MAX_OVERFLOW="1",
        READ_POOL_SIZE="2",
        FLOW_STEP_RETRY_SECONDS="0.1",
    )
    return celery_env


@pytest.fixture
def sender(worker_env: dict[str, str]) -> Celery:
    return create_celery(Settings(**{name.lower(): value for name, value in worker_env.items()}))  # type: ignore[arg-type]


@pytest.fixture
def chronicle(tmp_path: Path, postgres_url: str, redis_url: str, worker_env: dict[str, str]) -> Chronicle:
    wipe_database(postgres_url)
    redis.Redis.from_url(redis_url).flushdb()
    settings = make_settings(
        tmp_path,
        postgres_url,
        redis_url,
        run_projections_in_process=False,
        superadmin_email=None,
        celery_broker_url=worker_env["CELERY_BROKER_URL"],
        celery_queue=worker_env["CELERY_QUEUE"],
    )
    container = Chronicle(settings, clock=Clock(), adapters=flows_adapters())
    container.open()
    return container


def test_a_worker_runs_a_three_step_flow_to_completion_one_recorded_step_per_message(
    chronicle: Chronicle, workers: CeleryWorkers, sender: Celery, redis_url: str
) -> None:
    clock = Clock()
    try:
        app, account = chronicle.flows, uuid4()
        steps = [step(prompt="look"), step("signal", prompt="trade"), step("flaky", fails=1, prompt="report")]
        flow_id = app.define_flow(context(clock), account_id=account, title="Three", description="", steps=steps).id
        app.activate_flow(context(clock), flow_id, account_id=account)
        run_id = app.start_run(context(clock), flow_id, account_id=account, inputs={"price": "64000"}).id
        assert app.run(run_id).next_index == 0  # nothing ran here: the step went to the broker

        workers.start(WORKER_APP, ready=sender)

        def finished() -> FlowRun | None:
            run = app.run(run_id)
            return run if run.finished else None

        run = eventually(finished, timeout=90)
        assert run.status == "completed"
        assert [o["prompt"] for o in run.outputs] == ["look", "trade", "report"]
        events = [type(e).__name__ for e in app.repository.event_store.get(run_id)]
        assert events == [
            "Started",
            *["StepStarted", "StepCompleted"] * 2,
            *["StepStarted", "StepFailed", "StepStarted", "StepCompleted"],
            "Completed",
        ]
        store = redis.Redis.from_url(redis_url)
        calls = [int(store.get(f"calls:{run_id}:{index}") or 0) for index in range(3)]
        assert calls == [1, 1, 2]  # the flaky step's retry; no completed step ran twice
        assert int(store.get(f"trades:{signal_trade_id(UUID(str(run_id)), 1)}") or 0) == 1
    finally:
        chronicle.close()


def test_a_worker_killed_inside_a_step_leaves_it_to_the_next_which_runs_it_again_with_the_same_key(
    chronicle: Chronicle, workers: CeleryWorkers, sender: Celery, redis_url: str
) -> None:
    clock, store = Clock(), redis.Redis.from_url(redis_url)
    try:
        app, account = chronicle.flows, uuid4()
        steps = [step(prompt="before"), step("slow", hold=60, prompt="slow"), step(prompt="after")]
        flow_id = app.define_flow(context(clock), account_id=account, title="Kill", description="", steps=steps).id
        app.activate_flow(context(clock), flow_id, account_id=account)
        first = workers.start(WORKER_APP, ready=sender)  # (a solo worker inside a task answers no ping)
        run_id = app.start_run(context(clock), flow_id, account_id=account, inputs={}).id
        eventually(lambda: store.get(f"calls:{run_id}:1"), timeout=60)  # the worker is inside step 1
        workers.kill(first)
        assert app.run(run_id).next_index == 1 and app.run(run_id).in_progress

        workers.start(WORKER_APP, ready=sender)  # the unacknowledged message comes back to this one

        def finished() -> FlowRun | None:
            run = app.run(run_id)
            return run if run.finished else None

        run = eventually(finished, timeout=120)
        assert run.status == "completed" and run.attempts == [1, 2, 1]
        calls = [int(store.get(f"calls:{run_id}:{index}") or 0) for index in range(3)]
        assert calls == [1, 2, 1]  # the step killed mid-way ran again (same key); the completed one never did
    finally:
        chronicle.close()
