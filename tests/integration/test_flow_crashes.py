"""Flow runs on real Celery worker processes, PostgreSQL and Redis, with the worker SIGKILLed mid-step.

The flow is template → HTTP agent → rule agent (the rule signals a buy, so each run opens a trade). The
HTTP agent calls a local server this test runs; the server counts the calls per ``Idempotency-Key``.
The workers run ``tests.integration.flow_crash_app``: the production app whose trade desk can hold
after it has opened a trade (before the step's completion is recorded).

What is checked after a new worker has taken over: every run completed; each step of each run was
completed exactly once and never started again after its completion; the server saw each step once
per recorded start (so only a step whose completion was not recorded was called again, and with the
same key); and exactly one trade exists per signal, with the id derived from (run, step).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis
from celery import Celery

from domain.flows.run import FlowRun, signal_trade_id
from domain.trades.trade import Trade
from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.worker import create_celery
from tests.agent_server import AgentServer, Reply, Request
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually
from tests.integration.celery_workers import CeleryWorkers
from tests.integration.conftest import ContainerFactory, context
from tests.integration.flow_crash_app import HOLD_KEY, desk_calls_key

WORKER_APP = "tests.integration.flow_crash_app"
RUNS = 3
HOLD_SECONDS = 25.0
TRADE_STEP = 2


@pytest.fixture
def worker_env(celery_env: dict[str, str], postgres_url: str, redis_url: str) -> dict[str, str]:
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
        FLOW_HTTP_AGENT_HOSTS="127.0.0.1",
        FLOW_STEP_RETRY_SECONDS="0.2",
        FLOW_CRASH_REDIS_URL=redis_url,
        FLOW_CRASH_HOLD_SECONDS=str(HOLD_SECONDS),
    )
    return celery_env


@pytest.fixture
def sender(worker_env: dict[str, str]) -> Celery:
    return create_celery(Settings(**{k.lower(): v for k, v in worker_env.items() if not k.startswith("FLOW_CRASH")}))  # type: ignore[arg-type]


@pytest.fixture
def chronicle(make_container: ContainerFactory, worker_env: dict[str, str]) -> Chronicle:
    """The test's own root: same database, broker and queue as the workers (its commands enqueue to them)."""
    return make_container(
        celery_broker_url=worker_env["CELERY_BROKER_URL"],
        celery_queue=worker_env["CELERY_QUEUE"],
        flow_http_agent_hosts="127.0.0.1",
    )


@pytest.fixture
def counts(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.delete(HOLD_KEY)
        client.close()


def start_runs(chronicle: Chronicle, clock: Clock, url: str) -> tuple[UUID, list[UUID]]:
    """An active template → http → rule flow and ``RUNS`` manual runs of it (already sent to the queue)."""
    account = uuid4()
    flows = chronicle.flows
    steps = [
        {"prompt": "Advise on {{ inputs.symbol }} at {{ inputs.price }}", "agent": "template", "config": {}},
        {
            "prompt": "{{ previous.text }}",
            "agent": "http",
            "config": {"url": url, "timeout_seconds": 30, "max_attempts": 1},
        },
        {
            "prompt": "",
            "agent": "rule",
            "config": {
                "symbol": "BTC/USDT",
                "quantity": "0.25",
                "buy_below": "30000",
                "sell_above": "40000",
                "price_input": "price",
            },
        },
    ]
    flow = flows.define_flow(context(clock), account_id=account, title="Crash me", description="", steps=steps).id
    flows.activate_flow(context(clock), flow, account_id=account)
    runs = [
        flows.start_run(context(clock), flow, account_id=account, inputs={"symbol": "BTC/USDT", "price": "25000.5"}).id
        for _ in range(RUNS)
    ]
    return account, runs


def events(chronicle: Chronicle, run: UUID) -> list[Any]:
    return list(chronicle.flows.repository.event_store.get(run))


def finished(chronicle: Chronicle, runs: list[UUID]) -> bool:
    return all(chronicle.flows.run(run).status == "completed" for run in runs)


def assert_each_step_completed_once_and_never_started_after(chronicle: Chronicle, run: UUID) -> dict[int, int]:
    """Per step: how many times it was started. Fails if a step completed twice or started after completing."""
    started: dict[int, int] = {}
    completed: set[int] = set()
    for event in events(chronicle, run):
        if isinstance(event, FlowRun.StepStarted):
            assert event.index not in completed, f"step {event.index} of {run} started again after it completed"
            started[event.index] = started.get(event.index, 0) + 1
        if isinstance(event, FlowRun.StepCompleted):
            assert event.index not in completed, f"step {event.index} of {run} completed twice"
            completed.add(event.index)
    assert completed == {0, 1, 2}
    return started


def assert_one_trade_per_signal(chronicle: Chronicle, account: UUID, runs: list[UUID]) -> None:
    for run in runs:
        trade_id = signal_trade_id(run, TRADE_STEP)
        opened = [e for e in chronicle.trades.repository.event_store.get(trade_id) if isinstance(e, Trade.Opened)]
        assert len(opened) == 1, f"run {run}: {len(opened)} trades opened"
        output = chronicle.flows.run(run).outputs[TRADE_STEP]
        assert output["trade_id"] == str(trade_id)
    chronicle.runners["trades"].catch_up()
    page = chronicle.trade_queries.search(limit=100, offset=0, account_id=account)
    assert page.total == len(runs)
    tagged = {(t["flow_id"], t["run_id"], t["agent"]) for t in page.items}
    assert tagged == {(chronicle.flows.run(run).flow_id, run, "rule") for run in runs}


def held_first(hold: float) -> Any:
    def respond(request: Request) -> Reply:
        return Reply(200, {"advice": "buy"}, delay=hold if request.number == 1 else 0.0)

    return respond


def test_a_worker_killed_while_an_http_step_waits_on_a_slow_server_leaves_the_step_to_the_next_with_the_same_key(
    chronicle: Chronicle, clock: Clock, workers: CeleryWorkers, sender: Celery, worker_env: dict[str, str]
) -> None:
    with AgentServer(held_first(HOLD_SECONDS)).running() as server:
        account, runs = start_runs(chronicle, clock, server.url())
        # Not waiting for its ping: on a loaded machine the step may be under way before the ping answers.
        first = workers.start(WORKER_APP, ready=None)
        eventually(lambda: len(server.requests) == 1, timeout=90)
        held = UUID(server.requests[0].body["run_id"])

        workers.kill(first)
        # Killed inside the step: it started and its completion is not recorded.
        last = events(chronicle, held)[-1]
        assert isinstance(last, FlowRun.StepStarted) and last.index == 1

        workers.start(WORKER_APP, ready=sender)
        eventually(lambda: finished(chronicle, runs), timeout=150)

    for run in runs:
        started = assert_each_step_completed_once_and_never_started_after(chronicle, run)
        key = f"{run}:1"
        assert server.calls[key] == started[1], f"{run}: {server.calls[key]} calls for {started[1]} starts"
    assert server.calls[f"{held}:1"] == 2  # the killed attempt and the one after it, both with the key
    assert sorted(server.calls.values()) == [1] * (RUNS - 1) + [2]
    assert_one_trade_per_signal(chronicle, account, runs)


def test_a_worker_killed_after_a_signals_trade_is_saved_but_before_the_step_is_recorded_opens_no_second_trade(
    chronicle: Chronicle,
    clock: Clock,
    workers: CeleryWorkers,
    sender: Celery,
    worker_env: dict[str, str],
    counts: redis.Redis,
) -> None:
    counts.set(HOLD_KEY, 1)
    with AgentServer(lambda r: Reply(200, {"advice": "buy"})).running() as server:
        account, runs = start_runs(chronicle, clock, server.url())
        # Not waiting for its ping: on a loaded machine the step may be under way before the ping answers.
        first = workers.start(WORKER_APP, ready=None)
        keys = {run: desk_calls_key(signal_trade_id(run, TRADE_STEP)) for run in runs}
        held = eventually(lambda: next((run for run, key in keys.items() if counts.get(key)), None), timeout=90)

        workers.kill(first)
        # The trade is saved, the step's completion is not.
        trade_id = signal_trade_id(held, TRADE_STEP)
        assert len(list(chronicle.trades.repository.event_store.get(trade_id))) == 1
        last = events(chronicle, held)[-1]
        assert isinstance(last, FlowRun.StepStarted) and last.index == TRADE_STEP

        workers.start(WORKER_APP, ready=sender)
        eventually(lambda: finished(chronicle, runs), timeout=150)

    for run in runs:
        started = assert_each_step_completed_once_and_never_started_after(chronicle, run)
        assert server.calls[f"{run}:1"] == started[1] == 1
    assert started_trade_step(chronicle, held) == 2
    assert int(counts.get(keys[held]) or 0) == 2  # the desk was asked again, with the same trade id
    assert_one_trade_per_signal(chronicle, account, runs)


def started_trade_step(chronicle: Chronicle, run: UUID) -> int:
    return sum(1 for e in events(chronicle, run) if isinstance(e, FlowRun.StepStarted) and e.index == TRADE_STEP)
