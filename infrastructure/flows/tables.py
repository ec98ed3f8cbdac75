"""The flows read model's tables: flows, their runs, each run's steps, and per-flow counters."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text
from sqlalchemy import Uuid as SqlUuid

from infrastructure.shared.readstore import UtcDateTime, metadata

flows = Table(
    "rm_flows",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("account_id", SqlUuid, nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("schedule_seconds", Integer),
    Column("last_slot", BigInteger),  # the latest schedule slot a run was started for
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_flows_account", "account_id", "created_at"),
    Index("ix_rm_flows_status", "status"),
)

flow_runs = Table(
    "rm_flow_runs",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("flow_id", SqlUuid, nullable=False),
    Column("account_id", SqlUuid, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("steps_total", Integer, nullable=False),
    Column("steps_completed", Integer, nullable=False),
    Column("error", Text),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("duration_us", BigInteger),
    Column("updated_at", UtcDateTime, nullable=False),  # the run's last progress (the resume sweep reads it)
    Column("version", Integer, nullable=False),
    Index("ix_rm_flow_runs_flow", "flow_id", "started_at"),
    Index("ix_rm_flow_runs_progress", "status", "updated_at"),
)

flow_run_steps = Table(
    "rm_flow_run_steps",
    metadata,
    Column("run_id", SqlUuid, primary_key=True),
    Column("index", Integer, primary_key=True),
    Column("agent", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending, running, completed, failed
    Column("attempts", Integer, nullable=False),
    Column("output", JSON),
    Column("error", Text),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("duration_us", BigInteger),
)

flow_counters = Table(
    "rm_flow_counters",
    metadata,
    Column("flow_id", SqlUuid, primary_key=True),
    Column("metric", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

FLOW_TABLES = (flows, flow_runs, flow_run_steps, flow_counters)
