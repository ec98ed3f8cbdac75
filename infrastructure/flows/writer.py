"""The flows projection's writer: one batch's writes to the flows, runs, steps and counters, flushed together."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from infrastructure.flows.tables import flow_counters, flow_run_steps, flow_runs, flows
from infrastructure.shared.readstore import BatchView, Increments, PendingRows


class SqlFlowsView(BatchView):
    """Rows of flows, runs and steps, and the per-flow counters."""

    def __init__(self, conn: Connection) -> None:
        self._flows = PendingRows(flows, "id")
        self._runs = PendingRows(flow_runs, "id")
        self._steps = PendingRows(flow_run_steps, ("run_id", "index"))
        self._counters = Increments(flow_counters, ("flow_id", "metric"), "value")
        self._stored_runs: dict[UUID, dict[str, Any]] = {}
        super().__init__(conn, self._flows, self._runs, self._steps, self._counters)

    def add_flow(self, flow_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._flows.add({"id": flow_id, "version": version, "created_at": at, "updated_at": at, **fields})

    def update_flow(self, flow_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._flows.change(flow_id, version=version, updated_at=at, **fields)

    def scheduled(self, flow_id: UUID, slot: int) -> None:
        self._flows.change(flow_id, last_slot=slot)

    def add_run(self, run_id: UUID, version: int, at: datetime, steps: list[dict[str, Any]], **fields: Any) -> None:
        row = {"id": run_id, "version": version, "updated_at": at, "steps_total": len(steps), "steps_completed": 0}
        self._runs.add({**row, **fields})
        for index, step in enumerate(steps):
            self._steps.add(
                {"run_id": run_id, "index": index, "agent": step["agent"], "status": "pending", "attempts": 0}
            )

    def update_run(self, run_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._runs.change(run_id, version=version, updated_at=at, **fields)

    def update_step(self, run_id: UUID, index: int, **fields: Any) -> None:
        self._steps.change((run_id, index), **fields)

    def run_facts(self, run_id: UUID) -> dict[str, Any]:
        added = self._runs.added_row(run_id)
        if added is not None:
            return added
        if run_id not in self._stored_runs:
            query = select(flow_runs.c.flow_id, flow_runs.c.started_at).where(flow_runs.c.id == run_id)
            row = self.conn.execute(query).mappings().first()
            if row is None:
                raise LookupError(f"flow run {run_id} is not in the read model")
            self._stored_runs[run_id] = dict(row)
        return self._stored_runs[run_id]

    def bump(self, flow_id: UUID, metric: str, delta: int) -> None:
        self._counters.add((flow_id, metric), delta)

    def flush(self) -> None:
        super().flush()
        self._stored_runs.clear()
