"""The production Celery app (``interfaces.worker.create_celery``) with the flows tests' adapters: the
scripted test agent and a trade desk, both counting in Redis (``FLOWS_PROBE_REDIS_URL``) so the test
process sees what the worker did: ``calls:<idempotency key>`` per step execution, ``trades:<trade id>``
per desk call."""

from __future__ import annotations

import os
import time
from typing import Any
from uuid import UUID

import redis

from application.flows.agents import AgentRegistry, StepCall, StepResult
from application.shared.commands import CommandContext
from infrastructure.root import Adapters
from interfaces.worker import create_celery
from tests.unit.flow_builders import ScriptedAgent


def counts() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("FLOWS_PROBE_REDIS_URL", "redis://127.0.0.1:6379/4"))


class CountingAgent(ScriptedAgent):
    def __init__(self, store: redis.Redis) -> None:
        super().__init__()
        self.store = store

    def run(self, call: StepCall) -> StepResult:
        seen = self.store.incr(f"calls:{call.idempotency_key}")
        if call.config["mode"] == "slow" and seen == 1:
            time.sleep(float(call.config.get("hold", 0)))  # the test kills the worker in here
        return super().run(call)


class CountingDesk:
    def __init__(self, store: redis.Redis) -> None:
        self.store = store

    def open_signal_trade(self, ctx: CommandContext, *, trade_id: UUID, **fields: Any) -> UUID:
        self.store.incr(f"trades:{trade_id}")
        return trade_id


def flows_adapters() -> Adapters:
    store = counts()
    return Adapters(trade_desk=CountingDesk(store), agents=AgentRegistry.of([CountingAgent(store)]))


def __getattr__(name: str) -> object:
    # `celery -A tests.integration.flows_worker_app` looks up `app`; the worker's environment has its settings.
    if name != "app":
        raise AttributeError(name)
    return create_celery(adapters=flows_adapters())
