"""Builders for the flows tests: a scripted test agent, a trade desk that records its calls, a run queue
that keeps what was enqueued, fixed plan limits, and a FlowsApplication over the in-memory store."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from application.flows.agents import (
    AgentFailed,
    AgentRegistry,
    ConfigProblem,
    InvalidAgentConfig,
    Json,
    StepCall,
    StepResult,
    TradeSignal,
)
from application.flows.application import ExecutorSettings, FlowsApplication
from application.shared.commands import CommandContext
from application.shared.ports import PlanEntitlements
from domain.shared.errors import DomainError

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCOUNT = UUID("00000000-0000-4000-8000-00000000f001")
OTHER_ACCOUNT = UUID("00000000-0000-4000-8000-00000000f002")


def ctx(at: datetime = T0) -> CommandContext:
    return CommandContext(actor="test", correlation_id=str(uuid4()), causation_id="test", now=at)


class ScriptedAgent:
    """The ``test`` agent: its config says what it does; every call is counted by idempotency key.

    Config: ``{"mode": "echo" | "fail" | "flaky" | "final" | "signal", "fails": n, "action": "buy"}``:
    echo answers the prompt and what it saw; fail always fails (retryably); flaky fails its first ``fails``
    calls per key; final fails not to retry; signal yields a trade signal; slow answers as echo (the worker
    app's counting agent holds its first call per key ``hold`` seconds).
    """

    name = "test"
    modes = frozenset({"echo", "fail", "flaky", "final", "signal", "slow"})

    def __init__(self) -> None:
        self.calls: list[StepCall] = []
        self._lock = threading.Lock()

    def validate_config(self, config: Mapping[str, Json]) -> dict[str, Json]:
        problems = []
        if config.get("mode", "echo") not in self.modes:
            problems.append(ConfigProblem(("mode",), f"one of {sorted(self.modes)}"))
        fails = config.get("fails", 0)
        if not isinstance(fails, int) or isinstance(fails, bool) or not 0 <= fails <= 10:
            problems.append(ConfigProblem(("fails",), "a whole number 0 to 10"))
        if problems:
            raise InvalidAgentConfig(self.name, problems)
        return {
            "mode": config.get("mode", "echo"),
            "fails": fails,
            **{k: config[k] for k in ("action", "hold") if k in config},
        }

    def calls_for(self, key: str) -> int:
        return sum(1 for call in self.calls if call.idempotency_key == key)

    def run(self, call: StepCall) -> StepResult:
        with self._lock:
            self.calls.append(call)
            seen = self.calls_for(call.idempotency_key)
        mode = call.config["mode"]
        if mode == "fail":
            raise AgentFailed(f"failure {seen}")
        if mode == "final":
            raise AgentFailed("refused for good", retryable=False)
        if mode == "flaky" and seen <= int(call.config["fails"]):
            raise AgentFailed(f"flaky failure {seen}")
        output = {
            "prompt": call.prompt,
            "inputs": dict(call.inputs),
            "earlier": len(call.outputs),
            "attempt": call.attempt,
        }
        if mode == "signal":
            action = str(call.config.get("action", "buy"))
            signal = TradeSignal(action, "BTC/USDT", Decimal("0.5"), Decimal("64000.10"))  # type: ignore[arg-type]
            return StepResult(output, signal)
        return StepResult(output)


class DailyLimitReached(DomainError):
    code = "trades_per_day_limit"
    title = "The plan's daily trade limit is reached"


@dataclass
class RecordingDesk:
    """A ``TradeDesk`` that keeps every call; idempotent on the trade id like the real one; ``refuse`` raises."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    opened: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    refuse: bool = False

    def open_signal_trade(self, ctx: CommandContext, *, trade_id: UUID, **fields: Any) -> UUID:
        self.calls.append({"trade_id": trade_id, **fields})
        if self.refuse:
            raise DailyLimitReached()
        self.opened.setdefault(trade_id, fields)
        return trade_id


@dataclass
class FixedLimits:
    """The ``Entitlements`` port answering one set of limits for every account."""

    limits: dict[str, int] = field(default_factory=dict)

    def limits_for(self, account_id: UUID) -> PlanEntitlements:
        return PlanEntitlements("test", dict(self.limits))


@dataclass
class KeptQueue:
    """A ``RunQueue`` that keeps what was enqueued (run id, seen version, countdown)."""

    items: list[tuple[UUID, int, float | None]] = field(default_factory=list)

    def advance_later(self, run_id: UUID, seen_version: int, countdown: float | None = None) -> None:
        self.items.append((run_id, seen_version, countdown))


@dataclass
class Harness:
    app: FlowsApplication
    agent: ScriptedAgent
    desk: RecordingDesk
    limits: FixedLimits
    queue: KeptQueue

    def drain(self, now: datetime = T0, limit: int = 100) -> int:
        """Run every queued advance, as a worker would, until none is left; answers how many ran."""
        ran = 0
        while self.queue.items and ran < limit:
            run_id, version, _ = self.queue.items.pop(0)
            self.app.advance_run(run_id, version, now=now)
            ran += 1
        return ran


def a_harness(max_attempts: int = 3, limits: dict[str, int] | None = None) -> Harness:
    agent = ScriptedAgent()
    desk, fixed, queue = RecordingDesk(), FixedLimits(limits or {}), KeptQueue()
    registry = AgentRegistry.of([agent])
    app = FlowsApplication(registry, desk, fixed, queue, ExecutorSettings(max_attempts=max_attempts), env=POPO)
    return Harness(app, agent, desk, fixed, queue)


def step(mode: str = "echo", prompt: str = "step", **config: Any) -> dict[str, Any]:
    return {"prompt": prompt, "agent": "test", "config": {"mode": mode, **config}}
