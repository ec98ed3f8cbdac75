"""The FlowRun aggregate: one execution of a flow's steps, the source of truth of its progress.

A run copies the flow's steps as they were at its start (a later edit of the flow does not change a
run under way) and records, per step, each attempt's start (``StepStarted``, BEFORE the agent is
called) and its result (``StepCompleted`` with the output and duration, or ``StepFailed``); then
``Completed`` after the last step or ``Failed`` with the error that ended it.

Invariants:
- steps run in order, one at a time: only the first step not completed may start, complete or fail;
- a completed step never starts again; a step started and not recorded (its worker died) may start
  again, as its next attempt; after ``max_attempts`` attempts of one step the run fails with the
  last error;
- a completed or failed run accepts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.flows.errors import RunFinished, StepOutOfOrder


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"


MAX_ERROR: Final = 1000
# What a step that started and never recorded a result is said to have failed with.
LOST_ATTEMPT: Final = "the step's worker stopped before recording a result"


def scheduled_run_id(flow_id: UUID, slot: int) -> UUID:
    """The run a schedule starts in its ``slot`` (the number of intervals since the epoch): one per slot."""
    return uuid5(flow_id, f"schedule:{slot}")


def signal_trade_id(run_id: UUID, step_index: int) -> UUID:
    """The trade a step's signal opens: the same for every attempt of that step of that run."""
    return uuid5(run_id, f"trade:{step_index}")


def _error(text: str) -> str:
    return text[:MAX_ERROR] or "unknown error"


class FlowRun(Aggregate):
    """One run of one flow."""

    class Started(Aggregate.Created):
        flow_id: UUID
        account_id: UUID
        steps: list[dict[str, Any]]
        inputs: dict[str, Any]
        trigger: str

    class StepStarted(Aggregate.Event):
        index: int
        attempt: int

        def apply(self, run: FlowRun) -> None:
            run.attempts[self.index] = self.attempt
            run.in_progress = True

    class StepCompleted(Aggregate.Event):
        index: int
        output: dict[str, Any]
        duration_us: int

        def apply(self, run: FlowRun) -> None:
            run.outputs.append(dict(self.output))
            run.in_progress = False

    class StepFailed(Aggregate.Event):
        index: int
        attempt: int
        error: str
        retryable: bool

        def apply(self, run: FlowRun) -> None:
            run.last_error = self.error
            run.in_progress = False

    class Completed(Aggregate.Event):
        def apply(self, run: FlowRun) -> None:
            run.status = RunStatus.COMPLETED.value

    class Failed(Aggregate.Event):
        error: str

        def apply(self, run: FlowRun) -> None:
            run.status = RunStatus.FAILED.value
            run.last_error = self.error

    def __init__(
        self, flow_id: UUID, account_id: UUID, steps: list[dict[str, Any]], inputs: dict[str, Any], trigger: str
    ) -> None:
        self.flow_id = flow_id
        self.account_id = account_id
        self.steps = list(steps)
        self.inputs = dict(inputs)
        self.trigger = trigger
        self.status = RunStatus.RUNNING.value
        self.attempts = [0] * len(steps)  # attempts started, per step
        self.outputs: list[dict[str, Any]] = []  # the completed steps' outputs, in order
        self.in_progress = False  # the next step started and no result recorded (yet, or ever: a crash)
        self.last_error: str | None = None

    @classmethod
    def start(
        cls,
        *,
        run_id: UUID,
        flow_id: UUID,
        account_id: UUID,
        steps: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        trigger: Trigger,
        now: datetime,
    ) -> FlowRun:
        return cls._create(
            cls.Started,
            id=run_id,
            timestamp=now,
            flow_id=flow_id,
            account_id=account_id,
            steps=[dict(step) for step in steps],
            inputs=dict(inputs),
            trigger=trigger.value,
        )

    @property
    def finished(self) -> bool:
        return self.status != RunStatus.RUNNING

    @property
    def next_index(self) -> int:
        """The first step not completed (``len(steps)`` once every step is)."""
        return len(self.outputs)

    def _running(self) -> None:
        if self.finished:
            raise RunFinished()

    def start_next_step(self, *, max_attempts: int, now: datetime) -> int | None:
        """Start the next step's next attempt and answer it; past ``max_attempts`` fail the run (None)."""
        self._running()
        index = self.next_index
        if index >= len(self.steps):
            raise StepOutOfOrder("Every step is completed: the run completes instead")
        attempt = self.attempts[index] + 1
        if attempt > max_attempts:
            lost = self.in_progress or self.last_error is None
            self.fail(error=LOST_ATTEMPT if lost else (self.last_error or LOST_ATTEMPT), now=now)
            return None
        self.trigger_event(self.StepStarted, index=index, attempt=attempt, timestamp=now)
        return attempt

    def _started(self, index: int) -> None:
        self._running()
        if index != self.next_index or not self.in_progress:
            raise StepOutOfOrder(f"Step {index} is not the step in progress")

    def complete_step(self, *, index: int, output: Mapping[str, Any], duration_us: int, now: datetime) -> None:
        self._started(index)
        self.trigger_event(
            self.StepCompleted, index=index, output=dict(output), duration_us=max(0, duration_us), timestamp=now
        )
        if self.next_index == len(self.steps):
            self.trigger_event(self.Completed, timestamp=now)

    def fail_step(self, *, index: int, error: str, retryable: bool, max_attempts: int, now: datetime) -> None:
        """Record the attempt's failure; a failure not to retry, or the last attempt's, fails the run."""
        self._started(index)
        attempt = self.attempts[index]
        self.trigger_event(
            self.StepFailed, index=index, attempt=attempt, error=_error(error), retryable=retryable, timestamp=now
        )
        if not retryable or attempt >= max_attempts:
            self.fail(error=_error(error), now=now)

    def fail(self, *, error: str, now: datetime) -> None:
        self._running()
        self.trigger_event(self.Failed, error=_error(error), timestamp=now)
