"""The flows read model: each flow (status, steps), its runs with each step's attempts, output and timing,
and per-flow counters (runs started, completed, failed; the completed runs' total duration) from which
the success rate and the mean duration are read without a scan."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.flows.flow import Flow, FlowStatus
from domain.flows.run import FlowRun, RunStatus

STARTED: Final = "started"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
COMPLETED_DURATION_US: Final = "completed_duration_us"
METRICS: Final = (STARTED, COMPLETED, FAILED, COMPLETED_DURATION_US)


class FlowsView(Protocol):
    """What the flows projection needs from its store (implemented in infrastructure)."""

    def add_flow(self, flow_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_flow(self, flow_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def add_run(self, run_id: UUID, version: int, at: datetime, steps: list[dict[str, Any]], **fields: Any) -> None:
        """The run's row and one row per step (pending)."""
        ...

    def update_run(self, run_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_step(self, run_id: UUID, index: int, **fields: Any) -> None: ...

    def run_facts(self, run_id: UUID) -> dict[str, Any]:
        """The run's row as this batch has it (its flow, start and trigger)."""
        ...

    def bump(self, flow_id: UUID, metric: str, delta: int) -> None: ...

    def scheduled(self, flow_id: UUID, slot: int) -> None:
        """The flow's schedule has started its run of ``slot`` (the sweep looks for later slots only)."""
        ...


class FlowsProjection(EventHandlers[FlowsView]):
    """Folds Flow and FlowRun events into the flows, runs and step rows and the per-flow counters."""

    name = "flows"

    @handles(Flow.Defined)
    def defined(self, e: Flow.Defined, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.add_flow(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            account_id=e.account_id,
            title=e.title,
            description=e.description,
            steps=e.steps,
            schedule_seconds=e.schedule_seconds,
            status=FlowStatus.DRAFT.value,
            last_slot=None,
        )

    @handles(Flow.StepsEdited)
    def steps_edited(self, e: Flow.StepsEdited, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_flow(e.originator_id, e.originator_version, e.timestamp, steps=e.steps)

    @handles(Flow.Activated)
    def activated(self, e: Flow.Activated, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_flow(e.originator_id, e.originator_version, e.timestamp, status=FlowStatus.ACTIVE.value)

    @handles(Flow.Paused)
    def paused(self, e: Flow.Paused, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_flow(e.originator_id, e.originator_version, e.timestamp, status=FlowStatus.PAUSED.value)

    @handles(Flow.Stopped)
    def stopped(self, e: Flow.Stopped, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_flow(e.originator_id, e.originator_version, e.timestamp, status=FlowStatus.STOPPED.value)

    @handles(FlowRun.Started)
    def run_started(self, e: FlowRun.Started, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.add_run(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            e.steps,
            flow_id=e.flow_id,
            account_id=e.account_id,
            trigger=e.trigger,
            inputs=e.inputs,
            status=RunStatus.RUNNING.value,
            started_at=e.timestamp,
        )
        view.bump(e.flow_id, STARTED, 1)
        slot = e.inputs.get("slot") if e.trigger == "schedule" else None
        if isinstance(slot, int):
            view.scheduled(e.flow_id, slot)

    @handles(FlowRun.StepStarted)
    def step_started(self, e: FlowRun.StepStarted, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_run(e.originator_id, e.originator_version, e.timestamp)
        view.update_step(e.originator_id, e.index, status="running", attempts=e.attempt, started_at=e.timestamp)

    @handles(FlowRun.StepCompleted)
    def step_completed(self, e: FlowRun.StepCompleted, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_run(e.originator_id, e.originator_version, e.timestamp, steps_completed=e.index + 1)
        view.update_step(
            e.originator_id,
            e.index,
            status="completed",
            output=e.output,
            duration_us=e.duration_us,
            finished_at=e.timestamp,
            error=None,
        )

    @handles(FlowRun.StepFailed)
    def step_failed(self, e: FlowRun.StepFailed, view: FlowsView, _meta: dict[str, Any]) -> None:
        view.update_run(e.originator_id, e.originator_version, e.timestamp)
        view.update_step(e.originator_id, e.index, status="failed", error=e.error, finished_at=e.timestamp)

    @handles(FlowRun.Completed)
    def completed(self, e: FlowRun.Completed, view: FlowsView, _meta: dict[str, Any]) -> None:
        facts = view.run_facts(e.originator_id)
        duration = int((e.timestamp - facts["started_at"]).total_seconds() * 1_000_000)
        view.update_run(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            status=RunStatus.COMPLETED.value,
            finished_at=e.timestamp,
            duration_us=duration,
        )
        view.bump(facts["flow_id"], COMPLETED, 1)
        view.bump(facts["flow_id"], COMPLETED_DURATION_US, duration)

    @handles(FlowRun.Failed)
    def failed(self, e: FlowRun.Failed, view: FlowsView, _meta: dict[str, Any]) -> None:
        facts = view.run_facts(e.originator_id)
        duration = int((e.timestamp - facts["started_at"]).total_seconds() * 1_000_000)
        view.update_run(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            status=RunStatus.FAILED.value,
            finished_at=e.timestamp,
            duration_us=duration,
            error=e.error,
        )
        view.bump(facts["flow_id"], FAILED, 1)
