"""The Flow, ActiveFlowSlots and FlowRun aggregates: given a state, when a command, then its events and
state, or the named error (and nothing emitted)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.flows.errors import (
    ActiveFlowsLimitReached,
    FlowAlreadyActive,
    FlowNotActive,
    FlowNotEditable,
    FlowStopped,
    InvalidFlow,
    RunFinished,
    StepOutOfOrder,
)
from domain.flows.flow import ActiveFlowSlots, Flow, slots_id_for
from domain.flows.run import LOST_ATTEMPT, FlowRun, Trigger, scheduled_run_id
from tests.unit.builders import event_types, refused
from tests.unit.flow_builders import ACCOUNT, T0, step

FLOW_ID = UUID("00000000-0000-4000-8000-00000000a001")
RUN_ID = UUID("00000000-0000-4000-8000-00000000b001")


def a_flow(**fields: Any) -> Flow:
    values: dict[str, Any] = {"title": " Signals ", "description": "", "steps": [step()], "schedule_seconds": None}
    values.update(fields)
    flow = Flow.define(flow_id=FLOW_ID, account_id=ACCOUNT, now=T0, **values)
    flow.collect_events()
    return flow


def slots() -> ActiveFlowSlots:
    opened = ActiveFlowSlots.open(account_id=ACCOUNT, now=T0)
    opened.collect_events()
    return opened


def active_flow() -> tuple[Flow, ActiveFlowSlots]:
    flow, held = a_flow(), slots()
    flow.activate(slots=held, limit=None, now=T0)
    flow.collect_events()
    held.collect_events()
    return flow, held


def a_run(steps: int = 2) -> FlowRun:
    run = FlowRun.start(
        run_id=RUN_ID,
        flow_id=FLOW_ID,
        account_id=ACCOUNT,
        steps=[step()] * steps,
        inputs={"price": "1"},
        trigger=Trigger.MANUAL,
        now=T0,
    )
    run.collect_events()
    return run


def test_a_flow_is_defined_as_a_draft_with_its_steps_and_trimmed_title() -> None:
    flow = Flow.define(flow_id=FLOW_ID, account_id=ACCOUNT, title=" T ", description="d", steps=[step()], now=T0)
    assert event_types(flow) == [Flow.Defined]
    assert (flow.title, flow.status, flow.steps, flow.schedule_seconds) == ("T", "draft", [step()], None)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": " "},
        {"title": "x" * 201},
        {"title": "a\x07b"},
        {"description": "d" * 2001},
        {"steps": []},
        {"steps": [step()] * 21},
        {"steps": [{"prompt": "p" * 4001, "agent": "test", "config": {}}]},
        {"steps": [{"prompt": "p", "agent": "Bad Name", "config": {}}]},
        {"steps": [{"prompt": "p", "agent": "test", "config": []}]},
        {"steps": [{"agent": "test", "config": {}}]},
        {"schedule_seconds": 59},
        {"schedule_seconds": 31 * 24 * 3600},
    ],
)
def test_an_invalid_definition_is_refused(fields: dict[str, Any]) -> None:
    values: dict[str, Any] = {"title": "T", "description": "", "steps": [step()]}
    values.update(fields)
    with pytest.raises(InvalidFlow):
        Flow.define(flow_id=FLOW_ID, account_id=ACCOUNT, now=T0, **values)


def test_steps_are_edited_while_draft_or_paused_only() -> None:
    flow = a_flow()
    flow.edit_steps(steps=[step(prompt="new")], now=T0)
    assert event_types(flow) == [Flow.StepsEdited] and flow.steps[0]["prompt"] == "new"
    flow, held = active_flow()
    refused(flow, FlowNotEditable, lambda f: f.edit_steps(steps=[step()], now=T0))
    flow.pause(slots=held, now=T0)
    flow.collect_events()
    flow.edit_steps(steps=[step(prompt="again")], now=T0)
    assert event_types(flow) == [Flow.StepsEdited]


def test_activation_takes_a_slot_within_the_limit_and_pause_and_stop_give_it_back() -> None:
    flow, held = a_flow(), slots()
    assert held.id == slots_id_for(ACCOUNT)
    flow.activate(slots=held, limit=1, now=T0)
    assert (event_types(flow), event_types(held)) == ([Flow.Activated], [ActiveFlowSlots.Taken])
    assert held.active == [FLOW_ID]
    refused(flow, FlowAlreadyActive, lambda f: f.activate(slots=held, limit=1, now=T0))
    flow.pause(slots=held, now=T0)
    assert (event_types(flow), event_types(held)) == ([Flow.Paused], [ActiveFlowSlots.Released])
    refused(flow, FlowNotActive, lambda f: f.pause(slots=held, now=T0))
    flow.stop(slots=held, now=T0)
    assert (event_types(flow), event_types(held), flow.status) == ([Flow.Stopped], [], "stopped")


def test_a_full_set_of_slots_refuses_another_activation() -> None:
    held = slots()
    held.take(flow_id=UUID(int=1), limit=1, now=T0)
    held.collect_events()
    flow = a_flow()
    with pytest.raises(ActiveFlowsLimitReached) as raised:
        flow.activate(slots=held, limit=1, now=T0)
    assert raised.value.extensions() == {"limit": 1}
    assert event_types(flow) == [] and event_types(held) == []


def test_a_stopped_flow_accepts_nothing() -> None:
    flow, held = active_flow()
    flow.stop(slots=held, now=T0)
    flow.collect_events()
    assert held.active == []
    for command in (
        lambda f: f.activate(slots=held, limit=None, now=T0),
        lambda f: f.pause(slots=held, now=T0),
        lambda f: f.stop(slots=held, now=T0),
        lambda f: f.edit_steps(steps=[step()], now=T0),
    ):
        refused(flow, FlowStopped, command)


def test_a_run_starts_copying_the_steps_then_steps_start_and_complete_in_order() -> None:
    run = a_run()
    assert (run.status, run.next_index, run.attempts, run.inputs) == ("running", 0, [0, 0], {"price": "1"})
    assert run.start_next_step(max_attempts=3, now=T0) == 1
    run.complete_step(index=0, output={"a": 1}, duration_us=5, now=T0)
    assert event_types(run) == [FlowRun.StepStarted, FlowRun.StepCompleted]
    refused(run, StepOutOfOrder, lambda r: r.complete_step(index=1, output={}, duration_us=1, now=T0))
    run.start_next_step(max_attempts=3, now=T0)
    run.complete_step(index=1, output={"b": 2}, duration_us=5, now=T0)
    assert event_types(run) == [FlowRun.StepStarted, FlowRun.StepCompleted, FlowRun.Completed]
    assert (run.status, run.outputs) == ("completed", [{"a": 1}, {"b": 2}])
    refused(run, RunFinished, lambda r: r.start_next_step(max_attempts=3, now=T0))


def test_a_retryable_failure_leaves_the_run_running_until_the_attempts_run_out() -> None:
    run = a_run(1)
    for attempt in (1, 2):
        assert run.start_next_step(max_attempts=3, now=T0) == attempt
        run.fail_step(index=0, error=f"e{attempt}", retryable=True, max_attempts=3, now=T0)
    assert run.status == "running" and run.last_error == "e2"
    run.start_next_step(max_attempts=3, now=T0)
    run.fail_step(index=0, error="e3", retryable=True, max_attempts=3, now=T0)
    assert (run.status, run.last_error) == ("failed", "e3")


def test_a_failure_not_to_retry_fails_the_run_at_once() -> None:
    run = a_run(1)
    run.start_next_step(max_attempts=3, now=T0)
    run.collect_events()
    run.fail_step(index=0, error="no", retryable=False, max_attempts=3, now=T0)
    assert event_types(run) == [FlowRun.StepFailed, FlowRun.Failed]
    assert run.status == "failed"


def test_a_started_step_never_recorded_is_started_again_and_lost_attempts_fail_the_run() -> None:
    run = a_run(1)
    assert run.start_next_step(max_attempts=2, now=T0) == 1
    assert run.start_next_step(max_attempts=2, now=T0) == 2  # the first worker died
    run.collect_events()
    assert run.start_next_step(max_attempts=2, now=T0) is None
    assert event_types(run) == [FlowRun.Failed]
    assert (run.status, run.last_error) == ("failed", LOST_ATTEMPT)


def test_a_failure_needs_a_step_in_progress_and_errors_are_bounded() -> None:
    run = a_run(1)
    refused(run, StepOutOfOrder, lambda r: r.fail_step(index=0, error="x", retryable=True, max_attempts=3, now=T0))
    run.start_next_step(max_attempts=3, now=T0)
    run.fail_step(index=0, error="x" * 5000, retryable=False, max_attempts=3, now=T0)
    assert run.last_error is not None and len(run.last_error) == 1000


def test_a_scheduled_run_id_follows_from_the_flow_and_the_slot() -> None:
    assert scheduled_run_id(FLOW_ID, 5) == scheduled_run_id(FLOW_ID, 5) != scheduled_run_id(FLOW_ID, 6)
