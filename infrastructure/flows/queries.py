"""Queries on the flows read model: an account's flows, a flow's runs with their steps, one run, a flow's
stats (from the counters the projection keeps), and what the sweeps look for (runs to resume, flows due)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypedDict, cast
from uuid import UUID

from sqlalchemy import Engine, select

from infrastructure.flows.tables import flow_counters, flow_run_steps, flow_runs, flows
from infrastructure.shared.readstore import Page, fetch_page
from projections.flows.flows import COMPLETED, COMPLETED_DURATION_US, FAILED, STARTED


class FlowRow(TypedDict):
    id: UUID
    account_id: UUID
    title: str
    description: str
    status: str
    steps: list[dict[str, Any]]
    schedule_seconds: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class StepRow(TypedDict):
    index: int
    agent: str
    status: str
    attempts: int
    output: dict[str, Any] | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_us: int | None


class RunRow(TypedDict):
    id: UUID
    flow_id: UUID
    account_id: UUID
    trigger: str
    status: str
    inputs: dict[str, Any]
    steps_total: int
    steps_completed: int
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_us: int | None
    updated_at: datetime
    version: int
    steps: list[StepRow]


class FlowStats(TypedDict):
    flow_id: UUID
    runs_started: int
    runs_completed: int
    runs_failed: int
    success_rate: Decimal | None  # completed / (completed + failed), four places; None before any run ended
    mean_duration_ms: Decimal | None  # of the completed runs, three places


FLOW_SORTS = {"created_at": flows.c.created_at, "title": flows.c.title, "status": flows.c.status}
RUN_SORTS = {"started_at": flow_runs.c.started_at, "status": flow_runs.c.status}
_FLOW_COLUMNS = [c for c in flows.c if c.name != "last_slot"]


class FlowQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def flows(
        self,
        *,
        account_id: UUID | None,
        status: str | None = None,
        sort: str = "-created_at",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[FlowRow]:
        """Flows (of ``account_id``, or every account's when None), newest first by default."""
        query = select(*_FLOW_COLUMNS)
        if account_id is not None:
            query = query.where(flows.c.account_id == account_id)
        if status is not None:
            query = query.where(flows.c.status == status)
        column = FLOW_SORTS[sort.lstrip("-")]
        ordering = [column.desc() if sort.startswith("-") else column.asc(), flows.c.id]
        return fetch_page(self.engine, query, ordering, limit, offset, FlowRow)

    def flow(self, flow_id: UUID) -> FlowRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_FLOW_COLUMNS).where(flows.c.id == flow_id)).mappings().first()
        return cast(FlowRow, dict(row)) if row is not None else None

    def runs(
        self, flow_id: UUID, *, status: str | None = None, sort: str = "-started_at", limit: int = 50, offset: int = 0
    ) -> Page[RunRow]:
        """A flow's runs, newest first by default, each with its steps' attempts, outputs and timing."""
        query = select(flow_runs).where(flow_runs.c.flow_id == flow_id)
        if status is not None:
            query = query.where(flow_runs.c.status == status)
        column = RUN_SORTS[sort.lstrip("-")]
        ordering = [column.desc() if sort.startswith("-") else column.asc(), flow_runs.c.id]
        page = fetch_page(self.engine, query, ordering, limit, offset, RunRow)
        steps = self._steps([run["id"] for run in page.items])
        for run in page.items:
            run["steps"] = steps.get(run["id"], [])
        return page

    def run(self, run_id: UUID) -> RunRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(flow_runs).where(flow_runs.c.id == run_id)).mappings().first()
        if row is None:
            return None
        run = cast(RunRow, dict(row))
        run["steps"] = self._steps([run_id]).get(run_id, [])
        return run

    def _steps(self, run_ids: list[UUID]) -> dict[UUID, list[StepRow]]:
        if not run_ids:
            return {}
        query = (
            select(flow_run_steps)
            .where(flow_run_steps.c.run_id.in_(run_ids))
            .order_by(flow_run_steps.c.run_id, flow_run_steps.c.index)
        )
        found: dict[UUID, list[StepRow]] = defaultdict(list)
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                step = dict(row)
                found[step.pop("run_id")].append(cast(StepRow, step))
        return found

    def stats(self, flow_id: UUID) -> FlowStats:
        query = select(flow_counters.c.metric, flow_counters.c.value).where(flow_counters.c.flow_id == flow_id)
        with self.engine.connect() as conn:
            counts = {row.metric: int(row.value) for row in conn.execute(query)}
        completed, failed = counts.get(COMPLETED, 0), counts.get(FAILED, 0)
        ended = completed + failed
        rate = (Decimal(completed) / ended).quantize(Decimal("0.0001"), ROUND_HALF_EVEN) if ended else None
        mean = (
            (Decimal(counts.get(COMPLETED_DURATION_US, 0)) / completed / 1000).quantize(Decimal("0.001"))
            if completed
            else None
        )
        return FlowStats(
            flow_id=flow_id,
            runs_started=counts.get(STARTED, 0),
            runs_completed=completed,
            runs_failed=failed,
            success_rate=rate,
            mean_duration_ms=mean,
        )

    # --- what the sweeps look for ---------------------------------------------------------------

    def stalled_runs(self, as_of: datetime, older_than: timedelta, limit: int) -> list[tuple[UUID, int]]:
        """Runs still running whose last progress is older than ``older_than``: (run id, version)."""
        query = (
            select(flow_runs.c.id, flow_runs.c.version)
            .where(flow_runs.c.status == "running", flow_runs.c.updated_at < as_of - older_than)
            .order_by(flow_runs.c.updated_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(row.id, int(row.version)) for row in conn.execute(query)]

    def due_schedules(self, as_of: datetime, limit: int) -> list[tuple[UUID, int]]:
        """Active scheduled flows whose current slot (intervals since the epoch) has no run yet: (flow id, slot)."""
        query = (
            select(flows.c.id, flows.c.schedule_seconds, flows.c.last_slot)
            .where(flows.c.status == "active", flows.c.schedule_seconds.is_not(None))
            .order_by(flows.c.id)
        )
        epoch = as_of.timestamp()
        due: list[tuple[UUID, int]] = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                slot = int(epoch // row.schedule_seconds)
                if row.last_slot is None or row.last_slot < slot:
                    due.append((row.id, slot))
                    if len(due) >= limit:
                        break
        return due
