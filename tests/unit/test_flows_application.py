"""The Flows application over the in-memory store: definitions checked with their agents, the active-flows
slots, runs, and the durable step executor (``advance_run``) with a scripted test agent."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import pytest

from domain.flows.errors import (
    ActiveFlowsLimitReached,
    FlowNotActive,
    FlowNotFound,
    FlowRunNotFound,
    InvalidFlow,
    InvalidStepConfig,
)
from domain.flows.flow import Flow
from domain.flows.run import LOST_ATTEMPT, FlowRun, scheduled_run_id, signal_trade_id
from tests.unit.flow_builders import ACCOUNT, OTHER_ACCOUNT, T0, Harness, a_harness, ctx, step


def define(h: Harness, *steps: dict[str, Any], account: UUID = ACCOUNT, active: bool = True) -> UUID:
    flow_id = h.app.define_flow(ctx(), account_id=account, title="Flow", description="", steps=list(steps)).id
    if active:
        h.app.activate_flow(ctx(), flow_id, account_id=account)
    return flow_id


def start(h: Harness, flow_id: UUID, account: UUID = ACCOUNT, **inputs: Any) -> UUID:
    return h.app.start_run(ctx(), flow_id, account_id=account, inputs=inputs).id


def event_names(h: Harness, run_id: UUID) -> list[str]:
    return [type(e).__name__ for e in h.app.repository.event_store.get(run_id)]


# --- definitions --------------------------------------------------------------------------------


def test_a_definition_lists_every_unknown_agent_and_invalid_config_field_and_saves_nothing() -> None:
    h = a_harness()
    steps = [step("echo"), {"prompt": "x", "agent": "nobody", "config": {}}, step("bogus", fails=99)]
    with pytest.raises(InvalidStepConfig) as raised:
        h.app.define_flow(ctx(), account_id=ACCOUNT, title="Flow", description="", steps=steps)
    assert raised.value.extensions()["errors"] == [
        {"field": "steps.1.agent", "message": "no agent 'nobody' (known: test)", "type": "unknown_agent"},
        {
            "field": "steps.2.config.mode",
            "message": "one of ['echo', 'fail', 'final', 'flaky', 'signal', 'slow']",
            "type": "invalid_config",
        },
        {"field": "steps.2.config.fails", "message": "a whole number 0 to 10", "type": "invalid_config"},
    ]
    assert h.app.recorder.max_notification_id() in (None, 0)


def test_the_config_kept_is_the_one_the_agent_normalised_and_edits_are_checked_too() -> None:
    h = a_harness()
    flow_id = define(h, {"prompt": "p", "agent": "test", "config": {}}, active=False)
    assert h.app.flow(flow_id).steps == [{"prompt": "p", "agent": "test", "config": {"mode": "echo", "fails": 0}}]
    with pytest.raises(InvalidStepConfig):
        h.app.edit_steps(ctx(), flow_id, account_id=ACCOUNT, steps=[step("nope")])
    with pytest.raises(InvalidFlow):
        h.app.edit_steps(ctx(), flow_id, account_id=ACCOUNT, steps=[])


def test_another_accounts_flow_is_not_found_for_every_command() -> None:
    h = a_harness()
    flow_id = define(h, step())
    for command in (
        lambda: h.app.edit_steps(ctx(), flow_id, account_id=OTHER_ACCOUNT, steps=[step()]),
        lambda: h.app.pause_flow(ctx(), flow_id, account_id=OTHER_ACCOUNT),
        lambda: h.app.stop_flow(ctx(), flow_id, account_id=OTHER_ACCOUNT),
        lambda: h.app.start_run(ctx(), flow_id, account_id=OTHER_ACCOUNT, inputs={}),
    ):
        with pytest.raises(FlowNotFound):
            command()
    run_id = start(h, flow_id)
    with pytest.raises(FlowRunNotFound):
        h.app.run(run_id, OTHER_ACCOUNT)


# --- active flows -------------------------------------------------------------------------------


def test_the_plans_active_flows_limit_counts_activations_and_pauses_and_stops_free_slots() -> None:
    h = a_harness(limits={"active_flows": 2})
    first, second, third = (define(h, step(), active=False) for _ in range(3))
    h.app.activate_flow(ctx(), first, account_id=ACCOUNT)
    h.app.activate_flow(ctx(), second, account_id=ACCOUNT)
    with pytest.raises(ActiveFlowsLimitReached):
        h.app.activate_flow(ctx(), third, account_id=ACCOUNT)
    h.app.pause_flow(ctx(), first, account_id=ACCOUNT)
    h.app.activate_flow(ctx(), third, account_id=ACCOUNT)
    with pytest.raises(ActiveFlowsLimitReached):
        h.app.activate_flow(ctx(), first, account_id=ACCOUNT)
    h.app.stop_flow(ctx(), second, account_id=ACCOUNT)
    h.app.activate_flow(ctx(), first, account_id=ACCOUNT)
    # Another account has slots of its own.
    define(h, step(), account=OTHER_ACCOUNT)


def test_only_an_active_flow_runs() -> None:
    h = a_harness()
    flow_id = define(h, step(), active=False)
    with pytest.raises(FlowNotActive):
        start(h, flow_id)
    h.app.activate_flow(ctx(), flow_id, account_id=ACCOUNT)
    h.app.pause_flow(ctx(), flow_id, account_id=ACCOUNT)
    with pytest.raises(FlowNotActive):
        start(h, flow_id)


# --- the executor -------------------------------------------------------------------------------


def test_a_run_executes_its_steps_in_order_each_seeing_the_earlier_outputs_then_completes() -> None:
    h = a_harness()
    flow_id = define(h, step(prompt="one"), step(prompt="two"), step(prompt="three"))
    run_id = start(h, flow_id, price="64000")
    assert h.queue.items == [(run_id, 1, None)]  # saved, then handed to a worker
    assert h.drain() == 3
    run = h.app.run(run_id)
    assert run.status == "completed"
    assert [o["prompt"] for o in run.outputs] == ["one", "two", "three"]
    assert [o["earlier"] for o in run.outputs] == [0, 1, 2]
    assert all(o["inputs"] == {"price": "64000"} for o in run.outputs)
    assert event_names(h, run_id) == ["Started", *["StepStarted", "StepCompleted"] * 3, "Completed"]
    assert h.agent.calls[0].idempotency_key == f"{run_id}:0"


def test_a_retryable_failure_is_retried_with_backoff_then_succeeds() -> None:
    h = a_harness()
    run_id = start(h, define(h, step("flaky", fails=2), step()))
    h.drain()
    run = h.app.run(run_id)
    assert run.status == "completed"
    assert event_names(h, run_id)[:7] == [
        "Started",
        *["StepStarted", "StepFailed"] * 2,
        "StepStarted",
        "StepCompleted",
    ]
    assert run.outputs[0]["attempt"] == 3
    assert h.agent.calls_for(f"{run_id}:0") == 3


def test_the_backoff_doubles_per_attempt() -> None:
    h = a_harness(max_attempts=5)
    run_id = start(h, define(h, step("fail")))
    h.queue.items.clear()
    countdowns = []
    for version in (1, 3, 5, 7):
        h.app.advance_run(run_id, version, now=T0)
        countdowns.append(h.queue.items.pop()[2])
    assert countdowns == [1.0, 2.0, 4.0, 8.0]


def test_a_non_retryable_failure_fails_the_run_at_once() -> None:
    h = a_harness()
    run_id = start(h, define(h, step("final"), step()))
    h.drain()
    run = h.app.run(run_id)
    assert (run.status, run.last_error) == ("failed", "refused for good")
    assert event_names(h, run_id) == ["Started", "StepStarted", "StepFailed", "Failed"]
    assert len(h.agent.calls) == 1


def test_after_n_attempts_the_run_fails_with_the_last_error() -> None:
    h = a_harness(max_attempts=3)
    run_id = start(h, define(h, step("fail")))
    h.drain()
    run = h.app.run(run_id)
    assert (run.status, run.last_error) == ("failed", "failure 3")
    assert h.agent.calls_for(f"{run_id}:0") == 3
    assert h.queue.items == []


def test_a_step_started_and_never_recorded_is_executed_again_with_the_same_idempotency_key() -> None:
    h = a_harness()
    run_id = start(h, define(h, step(), step()))
    # A worker records StepStarted, then dies before the agent's answer is recorded.
    run = h.app.run(run_id)
    run.start_next_step(max_attempts=3, now=T0)
    h.app.save(run)
    h.queue.items[:] = [(run_id, 1, None)]  # the broker delivers the same message again
    h.drain()
    assert h.app.run(run_id).status == "completed"
    assert [c.attempt for c in h.agent.calls if c.step_index == 0] == [2]
    assert h.agent.calls[0].idempotency_key == f"{run_id}:0"


def test_a_completed_step_is_never_executed_again_and_a_stale_message_does_nothing() -> None:
    h = a_harness()
    run_id = start(h, define(h, step(), step()))
    h.app.advance_run(run_id, 1, now=T0)  # step 0 completed, step 1 enqueued for version 3
    assert h.queue.items[-1] == (run_id, 3, None)
    # The first message is delivered again (its worker died before acknowledging it).
    outcome = h.app.advance_run(run_id, 1, now=T0)
    assert outcome.executed is None
    h.drain()
    assert h.app.run(run_id).status == "completed"
    assert [c.step_index for c in h.agent.calls] == [0, 1]
    # A finished run does nothing however often it is advanced.
    assert h.app.advance_run(run_id, None, now=T0).executed is None
    assert len(h.agent.calls) == 2


def test_lost_attempts_count_and_fail_the_run_once_they_run_out() -> None:
    h = a_harness(max_attempts=2)
    run_id = start(h, define(h, step()))
    for _ in range(2):  # two workers die mid-step
        run = h.app.run(run_id)
        run.start_next_step(max_attempts=2, now=T0)
        h.app.save(run)
    h.app.advance_run(run_id, None, now=T0)
    run = h.app.run(run_id)
    assert (run.status, run.last_error) == ("failed", LOST_ATTEMPT)
    assert h.agent.calls == []


def test_a_signal_opens_one_trade_with_a_deterministic_id_tagged_with_the_flow_run_and_agent() -> None:
    h = a_harness()
    flow_id = define(h, step("signal", action="sell"), step())
    run_id = start(h, flow_id)
    h.drain()
    trade_id = signal_trade_id(run_id, 0)
    assert trade_id == uuid5(run_id, "trade:0")
    run = h.app.run(run_id)
    assert run.outputs[0]["trade_id"] == str(trade_id)
    assert run.outputs[0]["signal"]["price"] == "64000.10"
    [call] = h.desk.calls
    assert call["trade_id"] == trade_id
    assert (call["flow_id"], call["run_id"], call["agent"], call["side"]) == (flow_id, run_id, "test", "sell")
    assert (call["account_id"], str(call["quantity"]), str(call["price"])) == (ACCOUNT, "0.5", "64000.10")


def test_a_signal_step_run_again_after_a_crash_asks_the_desk_with_the_same_trade_id() -> None:
    h = a_harness()
    run_id = start(h, define(h, step("signal")))
    run = h.app.run(run_id)
    run.start_next_step(max_attempts=3, now=T0)
    h.app.save(run)
    # The dead worker had opened the trade already; its completion was never recorded.
    h.desk.open_signal_trade(ctx(), trade_id=signal_trade_id(run_id, 0), account_id=ACCOUNT)
    h.drain()
    assert h.app.run(run_id).status == "completed"
    assert {c["trade_id"] for c in h.desk.calls} == {signal_trade_id(run_id, 0)}
    assert len(h.desk.opened) == 1


def test_a_desk_refusal_fails_the_step_without_retry() -> None:
    h = a_harness()
    h.desk.refuse = True
    run_id = start(h, define(h, step("signal")))
    h.drain()
    run = h.app.run(run_id)
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.startswith("trades_per_day_limit")
    assert len(h.desk.calls) == 1


def test_a_hold_signal_opens_nothing() -> None:
    h = a_harness()
    run_id = start(h, define(h, step("signal", action="hold")))
    h.drain()
    assert h.app.run(run_id).outputs[0]["signal"]["action"] == "hold"
    assert "trade_id" not in h.app.run(run_id).outputs[0]
    assert h.desk.calls == []


def test_a_scheduled_run_has_its_id_from_the_flow_and_slot_and_a_second_firing_starts_nothing() -> None:
    h = a_harness()
    flow_id = h.app.define_flow(
        ctx(), account_id=ACCOUNT, title="Every minute", description="", steps=[step()], schedule_seconds=60
    ).id
    h.app.activate_flow(ctx(), flow_id, account_id=ACCOUNT)
    first = h.app.start_scheduled_run(ctx(), flow_id, 1000)
    assert first is not None and first.id == scheduled_run_id(flow_id, 1000)
    assert h.app.start_scheduled_run(ctx(), flow_id, 1000) is None
    assert len(h.queue.items) == 1
    h.app.pause_flow(ctx(), flow_id, account_id=ACCOUNT)
    assert h.app.start_scheduled_run(ctx(), flow_id, 1001) is None
    assert h.app.load(first.id, FlowRun).trigger == "schedule"


def test_a_run_keeps_the_steps_as_they_were_at_its_start() -> None:
    h = a_harness()
    flow_id = define(h, step(prompt="before"))
    run_id = start(h, flow_id)
    h.app.pause_flow(ctx(), flow_id, account_id=ACCOUNT)
    h.app.edit_steps(ctx(), flow_id, account_id=ACCOUNT, steps=[step(prompt="after")])
    h.drain()
    assert h.app.run(run_id).outputs[0]["prompt"] == "before"
    assert h.app.load(flow_id, Flow).steps[0]["prompt"] == "after"


def test_an_agent_that_raises_an_unexpected_error_fails_the_attempt_by_its_type_not_its_text() -> None:
    h = a_harness(max_attempts=1)
    original = h.agent.run

    def broken(call: Any) -> Any:
        original(call)
        raise KeyError("secret detail")

    h.agent.run = broken  # type: ignore[method-assign]
    run_id = start(h, define(h, step()))
    h.drain()
    run = h.app.run(run_id)
    assert (run.status, run.last_error) == ("failed", "the agent raised KeyError")


def test_an_outage_of_the_desk_leaves_the_attempt_unrecorded_for_a_later_advance() -> None:
    h = a_harness()
    run_id = start(h, define(h, step("signal")))
    calls = []

    def down(ctx: Any, **fields: Any) -> Any:
        calls.append(fields)
        raise ConnectionError("store unavailable")

    h.desk.open_signal_trade = down  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        h.drain()
    run = h.app.run(run_id)
    assert (run.status, run.in_progress, run.attempts) == ("running", True, [1])
    del h.desk.open_signal_trade  # the store is back
    h.app.advance_run(run_id, None, now=T0)
    run = h.app.run(run_id)
    assert run.status == "completed" and run.attempts == [2]
    assert len(calls) == 1 and list(h.desk.opened) == [signal_trade_id(run_id, 0)]
