"""Flow throughput: N runs of a three-step flow through real Celery workers, beside the same steps in one process.

The flow: ``template`` (renders the price into a text) → ``rule`` (buys below a threshold: its signal
opens a trade through the trades application, with the plan's ``trades_per_day`` checked as the trade is
saved) → ``template`` (a report naming the trade). Every run buys, so N runs open N trades. The free
plan allows 10 trades a day, so the runs are spread over N / 10 accounts, each with one active flow.

Three ways, each on a freshly wiped database:

- **Celery** (the figure): ``WORKERS`` worker processes (``celery -A interfaces.worker worker --pool=solo``);
  the bench process starts the runs (4 threads) and the executor's tasks carry each run step by step,
  every move recorded in the log before the next is enqueued. Timed from the first ``start_run`` to the
  moment the log holds N ``FlowRun.Completed``. Step latency: each step's execution as the executor
  measured it (``StepCompleted.duration_us``: the agent and the trade open); step to next step: the
  events' timestamps, which carry each task's clock (read once per task), so the queue's wait with all
  N runs queued at once plus the saves; and each run from ``Started`` to ``Completed``.
- **in process** (``advance_run`` with the jobs' in-process queue, no Celery): the same executor, the same
  events, one process, one thread.
- **direct** (the baseline): the same agents called in order and the trade opened through
  ``open_signal_trade``, in one process, recording no run at all.

Checked: every run completed, one trade per run (N ``Trade.Opened`` in the log).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import redis

from application.flows.agents import Agent, StepCall
from application.flows.builtin.rule import RuleAgent
from application.flows.builtin.template import TemplateAgent
from application.shared.commands import CommandContext
from bench.core import (
    BENCH_JWT_SECRET,
    BENCH_PII_MASTER_KEY,
    BenchConfig,
    Result,
    bench_settings,
    latency_note,
    wipe,
)
from bench.scenarios.renewals import start_worker, stop, wait_ready
from domain.flows.run import FlowRun, signal_trade_id
from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.worker import create_celery

BROKER_URL = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/10")
WORKERS = 2
STARTERS = 4
RUNS_PER_ACCOUNT = 10  # the free plan's trades_per_day
COMPLETED_TOPIC = "domain.flows.run:FlowRun.Completed"
OPENED_TOPIC = "domain.trades.trade:Trade.Opened"
STEPS: list[dict[str, Any]] = [
    {"prompt": "{{ inputs.symbol }} trades at {{ inputs.price }}", "agent": "template", "config": {}},
    {
        "prompt": "",
        "agent": "rule",
        "config": {
            "symbol": "BTC/USDT",
            "quantity": "0.01",
            "buy_below": "70000",
            "sell_above": "90000",
            "price_input": "price",
        },
    },
    {"prompt": "Bought {{ previous.signal.quantity }} as {{ previous.trade_id }}", "agent": "template", "config": {}},
]
INPUTS = {"symbol": "BTC/USDT", "price": "64000.5"}


def flow_throughput(config: BenchConfig) -> list[Result]:
    runs = config.scale(1_000, 20)
    celery_wall, step_latencies, hops, whole = through_celery(config, runs)
    inprocess_wall, inprocess_steps = in_process(config, runs)
    direct_wall, direct_steps = direct(config, runs)
    celery_rate, inprocess_rate, direct_rate = runs / celery_wall, runs / inprocess_wall, runs / direct_wall
    return [
        Result(
            scenario="flow-throughput",
            figure=f"{runs:,} runs of template → rule → template (trade) through Celery, {WORKERS} workers (runs/s)",
            value=celery_rate,
            unit="runs/s",
            baseline=direct_rate,
            baseline_label="the same steps called directly in one process (no run recorded)",
            target="every run completed, one trade per run",
            met=True,  # through_celery raises unless every run completed with exactly one trade each
            notes=[
                f"{celery_wall:.1f} s for {runs:,} runs ({3 * runs:,} steps, {runs:,} trades); "
                f"direct: {direct_wall:.1f} s ({direct_rate:.0f} runs/s)",
                latency_note("Celery step execution (the agent, the trade open)", step_latencies),
                latency_note(f"Celery step to next step, all {runs:,} runs queued at once (queue wait + saves)", hops),
                latency_note("Celery run, started → completed", whole),
                latency_note("direct step (one agent call, the trade open included)", direct_steps),
            ],
        ),
        Result(
            scenario="flow-throughput",
            figure=f"{runs:,} runs through the executor in one process, no Celery (runs/s)",
            value=inprocess_rate,
            unit="runs/s",
            baseline=direct_rate,
            baseline_label="the same steps called directly in one process (no run recorded)",
            target="—",
            met=None,
            notes=[
                f"{inprocess_wall:.1f} s: advance_run from the jobs' in-process queue, one thread",
                latency_note("in-process step execution (the agent, the trade open)", inprocess_steps),
            ],
        ),
    ]


def accounts_for(runs: int, label: str) -> list[UUID]:
    count = -(-runs // RUNS_PER_ACCOUNT)
    return [uuid.uuid5(uuid.NAMESPACE_URL, f"bench-flows-{label}-{n}") for n in range(count)]


def ctx_at(now: datetime) -> CommandContext:
    return CommandContext(actor="bench", correlation_id="bench", causation_id="bench", now=now)


def define_flows(container: Chronicle, accounts: list[UUID]) -> dict[UUID, UUID]:
    flows = container.flows
    made = {}
    for account in accounts:
        ctx = ctx_at(datetime.now(UTC))
        flow = flows.define_flow(ctx, account_id=account, title="Bench", description="", steps=STEPS).id
        flows.activate_flow(ctx, flow, account_id=account)
        made[account] = flow
    return made


def start_all(container: Chronicle, flows: dict[UUID, UUID], runs: int) -> list[UUID]:
    plan = [account for account in flows for _ in range(RUNS_PER_ACCOUNT)][:runs]

    def start(account: UUID) -> UUID:
        ctx = ctx_at(datetime.now(UTC))
        return container.flows.start_run(ctx, flows[account], account_id=account, inputs=INPUTS).id

    with ThreadPoolExecutor(max_workers=STARTERS) as pool:
        return list(pool.map(start, plan))


def count_topic(conn: psycopg.Connection[Any], topic: str) -> int:
    row = conn.execute("SELECT count(*) FROM chronicle_events WHERE topic = %s", (topic,)).fetchone()
    return int(row[0]) if row else 0


def step_timings(container: Chronicle, run_ids: list[UUID]) -> tuple[list[float], list[float], list[float]]:
    """Seconds: each step's execution (``StepCompleted.duration_us``: the agent and the trade open); each
    step's task start to the next step's task start (the events carry the task's clock, read once per
    task: the queue's wait plus the save); each run's start to its completion."""
    steps: list[float] = []
    hops: list[float] = []
    whole: list[float] = []
    for run_id in run_ids:
        began: datetime | None = None
        task_at: dict[int, datetime] = {}
        for event in container.flows.repository.event_store.get(run_id):
            if isinstance(event, FlowRun.Started):
                began = event.timestamp
            elif isinstance(event, FlowRun.StepStarted):
                task_at[event.index] = event.timestamp
            elif isinstance(event, FlowRun.StepCompleted):
                steps.append(event.duration_us / 1_000_000)
            elif isinstance(event, FlowRun.Completed) and began is not None:
                whole.append((event.timestamp - began).total_seconds())
        hops += [(task_at[i + 1] - task_at[i]).total_seconds() for i in task_at if i + 1 in task_at]
    return steps, hops, whole


def through_celery(config: BenchConfig, runs: int) -> tuple[float, list[float], list[float], list[float]]:
    wipe(config.database_url)
    queue = f"bench-flows-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": config.database_url,
        "JWT_SECRET": BENCH_JWT_SECRET,
        "PII_MASTER_KEY": BENCH_PII_MASTER_KEY,
        "SUPERADMIN_EMAIL": "",
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_QUEUE": queue,
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "1",
        "READ_POOL_SIZE": "2",
    }
    settings = bench_settings(
        config.database_url,
        postgres_pool_size=STARTERS,
        postgres_max_overflow=0,
        read_pool_size=2,
        celery_broker_url=BROKER_URL,
        celery_queue=queue,
        jobs_in_process=False,
    )
    container = Chronicle(settings)
    container.open()
    workers = []
    try:
        flows = define_flows(container, accounts_for(runs, "celery"))
        sender = create_celery(Settings(**{name.lower(): value for name, value in env.items()}))  # type: ignore[arg-type]
        logs = Path(tempfile.mkdtemp(prefix="chronicle-bench-flow-workers-"))
        workers = [start_worker(env, logs / f"worker-{n}.log") for n in range(WORKERS)]
        wait_ready(sender, [f"bench-{n}-{queue}@%h" for n in range(WORKERS)], workers)

        began = time.perf_counter()
        run_ids = start_all(container, flows, runs)
        with psycopg.connect(config.database_url, autocommit=True) as conn:
            deadline = time.monotonic() + max(600.0, runs * 0.5)
            while count_topic(conn, COMPLETED_TOPIC) < runs:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{count_topic(conn, COMPLETED_TOPIC)} of {runs} runs completed in time")
                if all(process.poll() is not None for process in workers):
                    raise RuntimeError(f"every bench worker exited (logs in {logs})")
                time.sleep(0.05)
            wall = time.perf_counter() - began
            opened = count_topic(conn, OPENED_TOPIC)
        if opened != runs:
            raise RuntimeError(f"{opened} trades opened for {runs} runs")
        for run_id in run_ids:
            trade = signal_trade_id(run_id, 1)
            if len(list(container.trades.repository.event_store.get(trade))) != 1:
                raise RuntimeError(f"run {run_id}: its trade {trade} is not there exactly once")
        steps, hops, whole = step_timings(container, run_ids)
    finally:
        for process in workers:
            stop(process)
        container.close()
        redis.Redis.from_url(BROKER_URL).delete(queue)
    return wall, steps, hops, whole


def in_process(config: BenchConfig, runs: int) -> tuple[float, list[float]]:
    wipe(config.database_url)
    settings = bench_settings(config.database_url, postgres_pool_size=STARTERS, jobs_in_process=True)
    container = Chronicle(settings)
    container.open()  # no start(): no timer thread, the bench runs the queue itself
    try:
        flows = define_flows(container, accounts_for(runs, "in-process"))
        began = time.perf_counter()
        run_ids = start_all(container, flows, runs)
        container.jobs.run_pending(ignore_countdown=True)
        wall = time.perf_counter() - began
        if any(container.flows.run(run_id).status != "completed" for run_id in run_ids):
            raise RuntimeError("a run did not complete in process")
        steps, _, _ = step_timings(container, run_ids)
    finally:
        container.close()
    return wall, steps


def direct(config: BenchConfig, runs: int) -> tuple[float, list[float]]:
    """The same three agent calls and the trade open per run, in one process, no run recorded."""
    wipe(config.database_url)
    container = Chronicle(bench_settings(config.database_url, jobs_in_process=True))
    container.open()
    template, rule = TemplateAgent(), RuleAgent()
    configs = [template.validate_config({}), rule.validate_config(STEPS[1]["config"]), template.validate_config({})]
    agents: list[Agent] = [template, rule, template]
    latencies: list[float] = []
    try:
        plan = [account for account in accounts_for(runs, "direct") for _ in range(RUNS_PER_ACCOUNT)][:runs]
        flow_id = uuid.uuid5(uuid.NAMESPACE_URL, "bench-flows-direct")
        began = time.perf_counter()
        for account in plan:
            run_id = uuid.uuid4()
            outputs: list[dict[str, Any]] = []
            for index, (agent, step_config) in enumerate(zip(agents, configs, strict=True)):
                step_began = time.perf_counter()
                prompt = STEPS[index]["prompt"]
                call = StepCall(flow_id, run_id, account, index, 1, prompt, step_config, INPUTS, outputs)
                result = agent.run(call)
                output = dict(result.output)
                if result.signal is not None:
                    signal = result.signal
                    output["trade_id"] = str(
                        container.trades.open_signal_trade(
                            ctx_at(datetime.now(UTC)),
                            trade_id=signal_trade_id(run_id, index),
                            account_id=account,
                            symbol=signal.symbol,
                            side=signal.action,
                            quantity=signal.quantity,
                            price=signal.price,
                            leverage=signal.leverage,
                            market_type=signal.market_type,
                            flow_id=flow_id,
                            run_id=run_id,
                            agent=rule.name,
                        )
                    )
                    output["signal"] = {"quantity": str(signal.quantity)}
                outputs.append(output)
                latencies.append(time.perf_counter() - step_began)
        wall = time.perf_counter() - began
    finally:
        container.close()
    return wall, latencies
