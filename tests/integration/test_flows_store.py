"""The Flows context on PostgreSQL: the plan's ``active_flows`` limit holds under concurrent activations,
racing advances of one run execute each step once, and a rebuild of the flows read model equals the live rows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
import redis

from application.flows.agents import AgentRegistry
from domain.flows.errors import ActiveFlowsLimitReached
from domain.flows.flow import ActiveFlowSlots, Flow, slots_id_for
from domain.flows.run import scheduled_run_id
from infrastructure.flows.queries import FlowQueries
from infrastructure.flows.tables import FLOW_TABLES
from infrastructure.root import Adapters, Chronicle
from tests.conftest import Clock, make_settings
from tests.integration.conftest import context, table_rows, wipe_database
from tests.unit.flow_builders import RecordingDesk, ScriptedAgent, step

T = TypeVar("T")
LIMIT = 3
RACERS = 12


@pytest.fixture
def agent() -> ScriptedAgent:
    return ScriptedAgent()


@pytest.fixture
def chronicle(
    tmp_path: Path, postgres_url: str, redis_url: str, clock: Clock, agent: ScriptedAgent
) -> Iterator[Chronicle]:
    wipe_database(postgres_url)
    redis.Redis.from_url(redis_url).flushdb()
    settings = make_settings(
        tmp_path,
        postgres_url,
        redis_url,
        run_projections_in_process=False,
        superadmin_email=None,
        jobs_in_process=True,  # the executor's messages wait in this process's queue; the test runs them
        free_plan_active_flows=LIMIT,
        flow_step_max_attempts=2,
    )
    adapters = Adapters(trade_desk=RecordingDesk(), agents=AgentRegistry.of([agent]))
    container = Chronicle(settings, clock=clock, adapters=adapters)
    container.open()
    try:
        yield container
    finally:
        container.close()


def race(count: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    barrier = threading.Barrier(count)

    def run(i: int) -> T | Exception:
        barrier.wait(timeout=60)
        try:
            return attempt(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_activations_leave_exactly_the_plans_limit_active(chronicle: Chronicle, clock: Clock) -> None:
    app, account = chronicle.flows, uuid4()
    flows = [
        app.define_flow(context(clock), account_id=account, title=f"F{i}", description="", steps=[step()]).id
        for i in range(RACERS)
    ]

    answers = race(RACERS, lambda i: app.activate_flow(context(clock), flows[i], account_id=account))

    refused = [a for a in answers if isinstance(a, Exception)]
    assert all(isinstance(a, ActiveFlowsLimitReached) for a in refused), refused
    assert len(refused) == RACERS - LIMIT
    active = [f for f in flows if app.load(f, Flow).is_active]
    assert len(active) == LIMIT
    assert sorted(app.load(slots_id_for(account), ActiveFlowSlots).active) == sorted(active)
    # Pausing one frees one slot: of the rest racing again, exactly one gets it.
    app.pause_flow(context(clock), active[0], account_id=account)
    waiting = [f for f in flows if f not in active]
    again = race(len(waiting), lambda i: app.activate_flow(context(clock), waiting[i], account_id=account))
    assert sum(not isinstance(a, Exception) for a in again) == 1
    assert sum(app.load(f, Flow).is_active for f in flows) == LIMIT


def test_racing_advances_of_one_run_record_each_step_once_and_complete_it(
    chronicle: Chronicle, clock: Clock, agent: ScriptedAgent
) -> None:
    """Eight copies of each message at once: one records the step's start, the others lose the race and stop
    (a copy that loads after that start was saved takes it for a dead worker's and runs the step again: the
    at-least-once window the idempotency key covers); every step is completed exactly once."""
    app, account = chronicle.flows, uuid4()
    flow_id = app.define_flow(context(clock), account_id=account, title="F", description="", steps=[step()] * 3).id
    app.activate_flow(context(clock), flow_id, account_id=account)
    run_id = app.start_run(context(clock), flow_id, account_id=account, inputs={}).id
    for _ in range(3):
        seen = app.run(run_id).version
        race(8, lambda _, seen=seen: app.advance_run(run_id, seen, now=clock()))  # type: ignore[misc]
    run = app.run(run_id)
    assert run.status == "completed" and len(run.outputs) == 3
    events = [type(e).__name__ for e in app.repository.event_store.get(run_id)]
    assert events.count("StepCompleted") == 3 and events.count("Completed") == 1
    assert {call.step_index for call in agent.calls} == {0, 1, 2}
    assert {call.idempotency_key for call in agent.calls} == {f"{run_id}:{i}" for i in range(3)}


def history(chronicle: Chronicle, clock: Clock) -> list[UUID]:
    app, owner, other = chronicle.flows, uuid4(), uuid4()
    good = app.define_flow(
        context(clock),
        account_id=owner,
        title="Good",
        description="three steps",
        steps=[step(), step("signal"), step("flaky", fails=1)],
        schedule_seconds=60,
    ).id
    bad = app.define_flow(
        context(clock), account_id=other, title="Bad", description="", steps=[step(), step("fail")]
    ).id
    for flow_id, account in ((good, owner), (bad, other)):
        app.activate_flow(context(clock), flow_id, account_id=account)
    runs = [app.start_run(context(clock), good, account_id=owner, inputs={"n": i}).id for i in range(3)]
    runs.append(app.start_run(context(clock), bad, account_id=other, inputs={}).id)
    app.start_scheduled_run(context(clock), good, 7)
    chronicle.jobs.run_pending(ignore_countdown=True)
    app.pause_flow(context(clock), good, account_id=owner)
    app.edit_steps(context(clock), good, account_id=owner, steps=[step(prompt="edited")])
    app.stop_flow(context(clock), bad, account_id=other)
    return runs


def rows(chronicle: Chronicle) -> dict[str, list[tuple[Any, ...]]]:
    return {table.name: table_rows(chronicle, table) for table in FLOW_TABLES}


def test_a_rebuild_of_the_flows_read_model_equals_the_live_rows(chronicle: Chronicle, clock: Clock) -> None:
    runs = history(chronicle, clock)
    runner = chronicle.runners["flows"]
    runner.batch_size = 3  # live: small batches, the same rows changed across batches
    runner.catch_up()
    runner.batch_size = 2000
    live = rows(chronicle)
    statuses = {chronicle.flows.run(run).status for run in runs}
    assert statuses == {"completed", "failed"}
    assert len(live["rm_flow_runs"]) == 5 and len(live["rm_flow_run_steps"]) == 14

    runner.reset()
    assert all(not table for table in rows(chronicle).values())
    runner.catch_up()

    assert rows(chronicle) == live


def test_the_resume_sweep_hands_a_run_whose_message_was_lost_to_a_worker_again(
    chronicle: Chronicle, clock: Clock, agent: ScriptedAgent
) -> None:
    app, account = chronicle.flows, uuid4()
    flow_id = app.define_flow(context(clock), account_id=account, title="F", description="", steps=[step()] * 2).id
    app.activate_flow(context(clock), flow_id, account_id=account)
    run_id = app.start_run(context(clock), flow_id, account_id=account, inputs={}).id
    lost: list[Any] = []
    chronicle.jobs.deliver_with(lambda *message: lost.append(message))  # a broker that loses what it is sent
    assert chronicle.jobs.run_pending() == 1  # step 0 runs; the message for step 1 is lost
    chronicle.jobs.deliver_with(None)
    assert len(lost) == 1 and chronicle.jobs.pending == 0
    assert app.run(run_id).next_index == 1
    chronicle.runners["flows"].catch_up()
    resume_after = chronicle.settings.flow_resume_after_seconds

    assert chronicle.jobs.sweep("flows-resume", chronicle.jobs.run_here, clock()) == 0  # not stalled yet
    later = clock() + timedelta(seconds=resume_after + 1)
    assert chronicle.jobs.sweep("flows-resume", chronicle.jobs.run_here, later) == 1
    chronicle.jobs.run_pending(ignore_countdown=True)
    assert app.run(run_id).status == "completed"
    assert [call.step_index for call in agent.calls] == [0, 1]
    chronicle.runners["flows"].catch_up()
    assert chronicle.jobs.sweep("flows-resume", chronicle.jobs.run_here, later) == 0  # finished: never again


def test_the_schedule_sweep_starts_one_run_per_slot_of_an_active_scheduled_flow(
    chronicle: Chronicle, clock: Clock
) -> None:
    app, account = chronicle.flows, uuid4()
    scheduled = app.define_flow(
        context(clock), account_id=account, title="S", description="", steps=[step()], schedule_seconds=60
    ).id
    manual = app.define_flow(context(clock), account_id=account, title="M", description="", steps=[step()]).id
    for flow_id in (scheduled, manual):
        app.activate_flow(context(clock), flow_id, account_id=account)
    chronicle.runners["flows"].catch_up()
    as_of = clock()
    slot = int(as_of.timestamp() // 60)

    assert chronicle.jobs.sweep("flows-schedule", chronicle.jobs.run_here, as_of) == 1
    # A second firing before the read model saw the run: the run id follows from (flow, slot), nothing new.
    assert chronicle.jobs.sweep("flows-schedule", chronicle.jobs.run_here, as_of) == 1
    chronicle.jobs.run_pending(ignore_countdown=True)
    chronicle.runners["flows"].catch_up()
    assert chronicle.jobs.sweep("flows-schedule", chronicle.jobs.run_here, as_of) == 0
    runs = chronicle.services[FlowQueries].runs(scheduled)
    assert [(r["id"], r["trigger"], r["status"]) for r in runs.items] == [
        (scheduled_run_id(scheduled, slot), "schedule", "completed")
    ]
    assert chronicle.services[FlowQueries].runs(manual).total == 0
    assert chronicle.jobs.sweep("flows-schedule", chronicle.jobs.run_here, as_of + timedelta(seconds=60)) == 1
