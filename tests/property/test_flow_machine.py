"""Random lifecycles of flows (sharing one account's active-flow slots under a limit) and of runs, checked
against models after every step: every refusal is the one the model predicts, with nothing emitted; the
aggregates rebuilt from their events (in memory, and through the store, which snapshots every three
events) equal the live ones."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

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
from domain.flows.flow import ActiveFlowSlots, Flow
from domain.flows.run import LOST_ATTEMPT, FlowRun, Trigger
from domain.shared.errors import DomainError
from tests.property.replay import Recorder, rebuild, run_command
from tests.unit.flow_builders import ACCOUNT, T0, step

FLOWS = 3
step_lists = st.lists(st.sampled_from([step(), step(prompt="other"), {"prompt": "p", "agent": "BAD"}]), max_size=3)


class FlowMachine(RuleBasedStateMachine):
    """Three flows of one account; each activation is decided under a limit (None: unlimited) drawn anew."""

    def __init__(self) -> None:
        super().__init__()
        self.recorder = Recorder()
        self.slots_recorder = Recorder()
        self.events: dict[UUID, list[Any]] = {}

    @initialize(limit=st.one_of(st.none(), st.integers(0, 3)))
    def define(self, limit: int | None) -> None:
        self.limit = limit
        self.flows = [
            Flow.define(
                flow_id=UUID(int=i + 1), account_id=ACCOUNT, title=f"F{i}", description="", steps=[step()], now=T0
            )
            for i in range(FLOWS)
        ]
        self.slots = ActiveFlowSlots.open(account_id=ACCOUNT, now=T0)
        self.statuses = ["draft"] * FLOWS
        self.steps: list[list[dict[str, Any]]] = [[step()] for _ in range(FLOWS)]
        for flow in self.flows:
            self.recorder.record(flow)
        self.slots_recorder.record(self.slots)

    def _record_both(self, flow: Flow, flow_events: list[type], slot_events: list[type]) -> None:
        assert [type(e) for e in flow.pending_events] == flow_events
        assert [type(e) for e in self.slots.pending_events] == slot_events
        self.recorder.record(flow)
        if slot_events:
            self.slots_recorder.record(self.slots)

    def _refused(self, flow: Flow, refusal: type[DomainError], command: Any) -> None:
        try:
            command()
        except DomainError as error:
            assert type(error) is refusal, f"expected {refusal.__name__}, got {type(error).__name__}"
        else:
            raise AssertionError(f"expected {refusal.__name__}")
        assert flow.pending_events == [] and self.slots.pending_events == []

    @rule(i=st.integers(0, FLOWS - 1), limit=st.one_of(st.none(), st.integers(0, 3)))
    def activate(self, i: int, limit: int | None) -> None:
        flow, status = self.flows[i], self.statuses[i]
        active = self.statuses.count("active")
        refusal = (
            (FlowStopped if status == "stopped" else None)
            or (FlowAlreadyActive if status == "active" else None)
            or (ActiveFlowsLimitReached if limit is not None and active >= limit else None)
        )
        command = lambda: flow.activate(slots=self.slots, limit=limit, now=T0)  # noqa: E731
        if refusal:
            self._refused(flow, refusal, command)
            return
        command()
        self._record_both(flow, [Flow.Activated], [ActiveFlowSlots.Taken])
        self.statuses[i] = "active"

    @rule(i=st.integers(0, FLOWS - 1))
    def pause(self, i: int) -> None:
        flow, status = self.flows[i], self.statuses[i]
        refusal = (FlowStopped if status == "stopped" else None) or (FlowNotActive if status != "active" else None)
        if refusal:
            self._refused(flow, refusal, lambda: flow.pause(slots=self.slots, now=T0))
            return
        flow.pause(slots=self.slots, now=T0)
        self._record_both(flow, [Flow.Paused], [ActiveFlowSlots.Released])
        self.statuses[i] = "paused"

    @rule(i=st.integers(0, FLOWS - 1))
    def stop(self, i: int) -> None:
        flow, status = self.flows[i], self.statuses[i]
        if status == "stopped":
            self._refused(flow, FlowStopped, lambda: flow.stop(slots=self.slots, now=T0))
            return
        flow.stop(slots=self.slots, now=T0)
        self._record_both(flow, [Flow.Stopped], [ActiveFlowSlots.Released] if status == "active" else [])
        self.statuses[i] = "stopped"

    @rule(i=st.integers(0, FLOWS - 1), steps=step_lists)
    def edit(self, i: int, steps: list[dict[str, Any]]) -> None:
        flow, status = self.flows[i], self.statuses[i]
        invalid = not steps or any(s["agent"] == "BAD" for s in steps)
        refusal = (
            (FlowStopped if status == "stopped" else None)
            or (FlowNotEditable if status == "active" else None)
            or (InvalidFlow if invalid else None)
        )
        if run_command(self.recorder, flow, refusal, lambda: flow.edit_steps(steps=steps, now=T0), Flow.StepsEdited):
            self.steps[i] = [dict(s) for s in steps]

    @invariant()
    def the_flows_and_slots_agree_with_the_model(self) -> None:
        assert [f.status for f in self.flows] == self.statuses
        assert [f.steps for f in self.flows] == self.steps
        expected = {f.id for f, s in zip(self.flows, self.statuses, strict=True) if s == "active"}
        assert set(self.slots.active) == expected and len(self.slots.active) == len(expected)

    @invariant()
    def replay_equals_live(self) -> None:
        for flow in self.flows:
            assert self.recorder.stored(flow) == flow
            assert rebuild([e for e in self.recorder.events if e.originator_id == flow.id]) == flow
        assert self.slots_recorder.stored(self.slots) == self.slots
        assert rebuild(self.slots_recorder.events) == self.slots


class RunMachine(RuleBasedStateMachine):
    """One run of 1 to 3 steps: steps start (again, after a lost attempt), complete and fail at random."""

    @initialize(steps=st.integers(1, 3), max_attempts=st.integers(1, 3))
    def start(self, steps: int, max_attempts: int) -> None:
        self.recorder = Recorder()
        self.max_attempts = max_attempts
        self.total = steps
        self.run = FlowRun.start(
            run_id=UUID(int=99),
            flow_id=UUID(int=1),
            account_id=ACCOUNT,
            steps=[step()] * steps,
            inputs={},
            trigger=Trigger.MANUAL,
            now=T0,
        )
        self.recorder.record(self.run)
        self.status, self.done, self.attempts, self.in_progress, self.error = "running", 0, [0] * steps, False, None

    def _refusal(self, index: int | None = None) -> type[DomainError] | None:
        if self.status != "running":
            return RunFinished
        if index is not None and (index != self.done or not self.in_progress):
            return StepOutOfOrder
        return None

    @rule()
    def start_step(self) -> None:
        refusal = self._refusal()
        if refusal:
            run_command(self.recorder, self.run, refusal, lambda: self.run.start_next_step(max_attempts=9, now=T0))
            return
        attempt = self.attempts[self.done] + 1
        if attempt > self.max_attempts:
            answer = self.run.start_next_step(max_attempts=self.max_attempts, now=T0)
            assert answer is None
            assert [type(e) for e in self.run.pending_events] == [FlowRun.Failed]
            self.recorder.record(self.run)
            self.status = "failed"
            self.error = LOST_ATTEMPT if self.in_progress or self.error is None else self.error
            return
        assert self.run.start_next_step(max_attempts=self.max_attempts, now=T0) == attempt
        self.recorder.record(self.run)
        self.attempts[self.done], self.in_progress = attempt, True

    @rule(index=st.integers(0, 3))
    def complete(self, index: int) -> None:
        refusal = self._refusal(index)
        last = index == self.total - 1
        emitted = (FlowRun.StepCompleted, FlowRun.Completed) if last else (FlowRun.StepCompleted,)
        command = lambda: self.run.complete_step(index=index, output={"i": index}, duration_us=3, now=T0)  # noqa: E731
        if run_command(self.recorder, self.run, refusal, command, *emitted):
            self.done, self.in_progress = self.done + 1, False
            self.status = "completed" if last else "running"

    @rule(index=st.integers(0, 3), retryable=st.booleans(), error=st.text(max_size=5))
    def fail(self, index: int, retryable: bool, error: str) -> None:
        refusal = self._refusal(index)
        ends = refusal is None and (not retryable or self.attempts[index] >= self.max_attempts)
        emitted = (FlowRun.StepFailed, FlowRun.Failed) if ends else (FlowRun.StepFailed,)
        command = lambda: self.run.fail_step(  # noqa: E731
            index=index, error=error, retryable=retryable, max_attempts=self.max_attempts, now=T0
        )
        if run_command(self.recorder, self.run, refusal, command, *emitted):
            self.in_progress, self.error = False, error or "unknown error"
            self.status = "failed" if ends else "running"

    @invariant()
    def the_run_agrees_with_the_model(self) -> None:
        run = self.run
        assert (run.status, run.next_index, run.attempts, run.in_progress) == (
            self.status,
            self.done,
            self.attempts,
            self.in_progress,
        )
        if self.status == "failed":
            assert run.last_error == self.error

    @invariant()
    def replay_equals_live(self) -> None:
        assert rebuild(self.recorder.events) == self.run
        assert self.recorder.stored(self.run) == self.run


_SETTINGS = settings(
    max_examples=80, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FlowMachine.TestCase.settings = _SETTINGS
RunMachine.TestCase.settings = _SETTINGS
TestFlowMachine = FlowMachine.TestCase
TestRunMachine = RunMachine.TestCase
