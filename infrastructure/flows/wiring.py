"""Wiring of the Flows context: its application (with the agents, the trade desk and the plan limits it is
given), the executor's tasks and sweeps, and the flows read model with its queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from application.flows.agents import AgentRegistry
from application.flows.application import ExecutorSettings, FlowsApplication
from application.flows.ports import TradeDesk
from application.shared.ports import Entitlements
from infrastructure.flows.jobs import JobsRunQueue, add_flow_jobs
from infrastructure.flows.queries import FlowQueries
from infrastructure.flows.tables import FLOW_TABLES
from infrastructure.flows.writer import SqlFlowsView
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from projections.flows.flows import FlowsProjection


@dataclass
class Flows:
    """The Flows context, wired."""

    app: FlowsApplication
    registry: AgentRegistry
    queries: FlowQueries
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {FlowsApplication: self.app, FlowQueries: self.queries, AgentRegistry: self.registry}

    def start(self, platform: Platform) -> None:
        """Nothing to bootstrap: flows are the users'."""


def wire_flows(
    platform: Platform, *, registry: AgentRegistry, trade_desk: TradeDesk, entitlements: Entitlements
) -> Flows:
    """``trade_desk``: the trades application; ``entitlements``: the plans' limits (``active_flows``)."""
    settings = platform.settings
    executor = ExecutorSettings(
        max_attempts=settings.flow_step_max_attempts,
        retry_seconds=settings.flow_step_retry_seconds,
        retry_max_seconds=settings.flow_step_retry_max_seconds,
    )
    app = FlowsApplication(
        registry,
        trade_desk,
        entitlements,
        JobsRunQueue(platform.jobs),
        executor,
        platform.env,
        shares_log_with=platform.log,
    )
    platform.joins_log(app)
    queries = FlowQueries(platform.query_engine)
    add_flow_jobs(
        platform.jobs,
        app,
        queries,
        interval_seconds=settings.flow_sweep_seconds,
        resume_after=timedelta(seconds=settings.flow_resume_after_seconds),
        limit=settings.flow_sweep_limit,
    )
    followers = (Follower(FlowsProjection(), SqlFlowsView, FLOW_TABLES),)
    return Flows(app, registry, queries, followers)
