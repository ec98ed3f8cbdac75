"""The flows context's background work: the step executor's task, and two sweeps.

- ``chronicle.flows.advance(run_id, seen_version)``: ``FlowsApplication.advance_run``, the durable step
  executor. A command or the task itself enqueues it (``Jobs.enqueue``) after each recorded move, so a
  run goes step by step through the workers; a redelivery (a worker killed mid-step) runs it again and
  the run's stream decides what is left to do.
- the **resume** sweep: runs still running with no progress for ``FLOW_RESUME_AFTER_SECONDS`` (a message
  lost between the save and the send, a task that raised on an outage) → ``advance`` again;
- the **schedule** sweep: active flows with a schedule whose current slot has no run yet →
  ``chronicle.flows.start_scheduled(flow_id, slot)``, whose run id follows from (flow, slot), so two
  firings of one slot start one run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final, Protocol
from uuid import UUID, uuid5

from application.flows.application import Advance
from application.shared.commands import CommandContext, CommandResult
from infrastructure.shared.jobs import Jobs, TaskArgs

log = logging.getLogger("chronicle.flows")

ADVANCE_TASK: Final = "chronicle.flows.advance"
START_SCHEDULED_TASK: Final = "chronicle.flows.start_scheduled"
RESUME_SWEEP: Final = "flows-resume"
SCHEDULE_SWEEP: Final = "flows-schedule"
JOBS_ACTOR: Final = "jobs"
# Fixed forever: correlation ids of scheduled runs are derived from it.
CORRELATION_NAMESPACE: Final = UUID("0b6f2d84-9a1e-5c37-8e4d-6a2f0c9b7e15")


class Executing(Protocol):
    """What the tasks need of ``FlowsApplication``."""

    def advance_run(self, run_id: UUID, seen_version: int | None = None, *, now: datetime) -> Advance: ...

    def start_scheduled_run(self, ctx: CommandContext, flow_id: UUID, slot: int) -> CommandResult | None: ...


class Sweepable(Protocol):
    """What the sweeps need of ``FlowQueries``."""

    def stalled_runs(self, as_of: datetime, older_than: timedelta, limit: int) -> list[tuple[UUID, int]]: ...

    def due_schedules(self, as_of: datetime, limit: int) -> list[tuple[UUID, int]]: ...


class JobsRunQueue:
    """The ``RunQueue`` port over the shared jobs: a run's next step is one ``advance`` task.

    The run's move is saved before this is asked; a broker that cannot take the message (Redis down) is
    logged, not raised: the command succeeded, and the resume sweep hands the run out once it stalls.
    """

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs

    def advance_later(self, run_id: UUID, seen_version: int, countdown: float | None = None) -> None:
        try:
            self.jobs.enqueue(ADVANCE_TASK, (str(run_id), seen_version), countdown)
        except Exception as error:
            log.warning(
                "a flow run's next step was not enqueued; the resume sweep will hand it out",
                extra={"fields": {"run_id": str(run_id), "version": seen_version, "error": type(error).__name__}},
            )


def schedule_context(flow_id: UUID, slot: int, now: datetime) -> CommandContext:
    correlation = str(uuid5(CORRELATION_NAMESPACE, f"schedule:{flow_id}:{slot}"))
    return CommandContext(actor=JOBS_ACTOR, correlation_id=correlation, causation_id=correlation, now=now)


def add_flow_jobs(
    jobs: Jobs,
    app: Executing,
    queries: Sweepable,
    *,
    interval_seconds: float,
    resume_after: timedelta,
    limit: int,
) -> None:
    """Registers the advance and scheduled-start tasks and the resume and schedule sweeps (from the wiring)."""

    def advance(run_id: str, seen_version: int | None = None) -> None:
        app.advance_run(UUID(run_id), seen_version, now=jobs.clock())

    def start_scheduled(flow_id: str, slot: int) -> None:
        flow = UUID(flow_id)
        app.start_scheduled_run(schedule_context(flow, slot, jobs.clock()), flow, slot)

    def stalled(as_of: datetime) -> list[TaskArgs]:
        return [(str(run), version) for run, version in queries.stalled_runs(as_of, resume_after, limit)]

    def due(as_of: datetime) -> list[TaskArgs]:
        return [(str(flow), slot) for flow, slot in queries.due_schedules(as_of, limit)]

    jobs.add_task(ADVANCE_TASK, advance)
    jobs.add_task(START_SCHEDULED_TASK, start_scheduled)
    jobs.add_sweep(RESUME_SWEEP, interval_seconds, ADVANCE_TASK, stalled)
    jobs.add_sweep(SCHEDULE_SWEEP, interval_seconds, START_SCHEDULED_TASK, due)
