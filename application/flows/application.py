"""The Flows application: flows, their runs, and the durable step executor (``advance_run``).

Durable execution. A run's event stream is the source of truth; ``advance_run`` executes its next
pending step only and records each move before the next one is asked for:

1. load the run; a completed or failed run: nothing to do;
2. record ``StepStarted`` (attempt = the step's earlier attempts + 1) BEFORE calling the agent; past
   ``max_attempts`` it records ``Failed`` with the last error instead;
3. call the agent with the run's inputs and the earlier steps' outputs; a trade signal (buy/sell) is
   opened through the ``TradeDesk`` with ``trade_id = uuid5(run, "trade:<step>")`` before the step's
   completion is recorded (the output names the trade);
4. record ``StepCompleted`` (the last step: also ``Completed``) or ``StepFailed``, and only then ask
   the ``RunQueue`` to advance the run again (after a failure, with a backoff countdown).

So a step whose completion is recorded is never executed again, and a step that started and was
never recorded (its worker died, a message was redelivered) is executed again, as its next attempt,
with the same idempotency key (``StepCall.idempotency_key``: run id and step index) and the same trade
id. Outside calls are therefore at least once: an agent calling out must send the key on, and the
trade desk answers an id it already opened without opening it twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final
from uuid import UUID, uuid4, uuid5

from eventsourcing.utils import EnvType

from application.flows.agents import (
    AgentFailed,
    AgentRegistry,
    InvalidAgentConfig,
    StepCall,
    UnknownAgent,
    validate_step,
)
from application.flows.ports import RunQueue, TradeDesk
from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext, CommandResult
from application.shared.ports import Entitlements
from domain.flows.errors import FlowNotActive, FlowNotFound, FlowRunNotFound, InvalidStepConfig
from domain.flows.flow import ACTIVE_FLOWS, ActiveFlowSlots, Flow, check_steps, slots_id_for
from domain.flows.run import FlowRun, Trigger, scheduled_run_id, signal_trade_id
from domain.shared.errors import ConcurrencyConflict, DomainError, NotFound

# How often an activation, pause or stop that lost a race on the account's slots reloads and decides again.
MAX_SLOT_RETRIES: Final = 50
# Fixed forever: the correlation ids of runs' commands are derived from it.
RUN_NAMESPACE: Final = UUID("1d3c8a52-7f0e-5b64-a9c2-3e5d7f9b1a04")
EXECUTOR_ACTOR: Final = "flows"


@dataclass(frozen=True)
class ExecutorSettings:
    """How the executor retries: attempts per step, and the backoff before a retry (doubling, capped)."""

    max_attempts: int = 3
    retry_seconds: float = 1.0
    retry_max_seconds: float = 60.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.retry_max_seconds, self.retry_seconds * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Advance:
    """What one ``advance_run`` did: ``executed`` the step index it ran (None: none), and the run's status."""

    run_id: UUID
    executed: int | None
    attempt: int | None
    status: str
    requeued: bool


def _field(*loc: str | int) -> str:
    """``steps.2.config.thresholds``: where a field is, as the API's 422 problems name fields."""
    return ".".join(str(part) for part in loc)


def run_context(run_id: UUID, now: datetime, what: str) -> CommandContext:
    """The context of the executor's commands: every event of one run shares its correlation id."""
    correlation = str(uuid5(RUN_NAMESPACE, str(run_id)))
    return CommandContext(actor=EXECUTOR_ACTOR, correlation_id=correlation, causation_id=what, now=now)


class FlowsApplication(ChronicleApplication):
    """Commands of the Flows context: load, decide, save; and the step executor."""

    snapshotting_intervals: ClassVar = {Flow: 50, FlowRun: 50, ActiveFlowSlots: 50}

    def __init__(
        self,
        registry: AgentRegistry,
        trade_desk: TradeDesk,
        entitlements: Entitlements,
        queue: RunQueue,
        executor: ExecutorSettings | None = None,
        env: EnvType | None = None,
        *,
        shares_log_with: ChronicleApplication | None = None,
    ) -> None:
        super().__init__(env, shares_log_with=shares_log_with)
        self.registry = registry
        self.trade_desk = trade_desk
        self.entitlements = entitlements
        self.queue = queue
        self.executor = executor or ExecutorSettings()

    # --- flows ------------------------------------------------------------------------------

    def validate_steps(self, steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The steps with each config as its agent normalised it; ``InvalidStepConfig`` lists every bad field."""
        checked = check_steps(steps)
        errors: list[dict[str, Any]] = []
        for index, step in enumerate(checked):
            try:
                agent = self.registry.get(step["agent"])
                step["config"] = validate_step(agent, step["prompt"], step["config"])
            except UnknownAgent as unknown:
                known = ", ".join(self.registry.names())
                message = f"no agent {unknown.name!r} (known: {known})"
                errors.append({"field": f"steps.{index}.agent", "message": message, "type": "unknown_agent"})
            except InvalidAgentConfig as invalid:
                # Each loc starts with "prompt" (a template that does not compile) or "config".
                errors += [
                    {"field": _field("steps", index, *p.loc), "message": p.msg, "type": f"invalid_{p.loc[0]}"}
                    for p in invalid.problems
                ]
        if errors:
            raise InvalidStepConfig(errors)
        return checked

    def define_flow(
        self,
        ctx: CommandContext,
        *,
        account_id: UUID,
        title: str,
        description: str,
        steps: Sequence[Mapping[str, Any]],
        schedule_seconds: int | None = None,
        flow_id: UUID | None = None,
    ) -> CommandResult:
        flow = Flow.define(
            flow_id=flow_id or uuid4(),
            account_id=account_id,
            title=title,
            description=description,
            steps=self.validate_steps(steps),
            schedule_seconds=schedule_seconds,
            now=ctx.now,
        )
        return self.record(ctx, flow)

    def flow(self, flow_id: UUID, account_id: UUID | None = None, expected_version: int | None = None) -> Flow:
        """The flow; with ``account_id``, only if that account owns it (another's is not found)."""
        try:
            flow = self.load(flow_id, Flow, expected_version)
        except NotFound:
            raise FlowNotFound(f"No flow with id {flow_id}") from None
        if account_id is not None and flow.account_id != account_id:
            raise FlowNotFound(f"No flow with id {flow_id}")
        return flow

    def edit_steps(
        self,
        ctx: CommandContext,
        flow_id: UUID,
        *,
        account_id: UUID,
        steps: Sequence[Mapping[str, Any]],
        expected_version: int | None = None,
    ) -> CommandResult:
        flow = self.flow(flow_id, account_id, expected_version)
        flow.edit_steps(steps=self.validate_steps(steps), now=ctx.now)
        return self.record(ctx, flow)

    def activate_flow(
        self, ctx: CommandContext, flow_id: UUID, *, account_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        """Active, if the plan's ``active_flows`` allows one more: decided on the account's slots, saved with them."""

        def decide(flow: Flow, slots: ActiveFlowSlots) -> None:
            limit = self.entitlements.limits_for(flow.account_id).limit(ACTIVE_FLOWS)
            flow.activate(slots=slots, limit=limit, now=ctx.now)

        return self._with_slots(ctx, flow_id, account_id, expected_version, decide)

    def pause_flow(
        self, ctx: CommandContext, flow_id: UUID, *, account_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        return self._with_slots(
            ctx, flow_id, account_id, expected_version, lambda flow, slots: flow.pause(slots=slots, now=ctx.now)
        )

    def stop_flow(
        self, ctx: CommandContext, flow_id: UUID, *, account_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        return self._with_slots(
            ctx, flow_id, account_id, expected_version, lambda flow, slots: flow.stop(slots=slots, now=ctx.now)
        )

    def _with_slots(
        self,
        ctx: CommandContext,
        flow_id: UUID,
        account_id: UUID,
        expected_version: int | None,
        decide: Any,
    ) -> CommandResult:
        """Load the flow and the account's slots, decide, save both at once; a lost race reloads and decides again."""
        for _ in range(MAX_SLOT_RETRIES):
            flow = self.flow(flow_id, account_id, expected_version)
            slots = self._slots(flow.account_id, ctx)
            decide(flow, slots)
            try:
                return self.record(ctx, flow, slots)
            except ConcurrencyConflict:
                # Another activation, pause or stop of the account's flows (or of this one) came first.
                # A client's If-Match is checked again on the reload: if it was this flow, that is a 412.
                continue
        raise ConcurrencyConflict()

    def _slots(self, account_id: UUID, ctx: CommandContext) -> ActiveFlowSlots:
        try:
            return self.load(slots_id_for(account_id), ActiveFlowSlots)
        except NotFound:
            return ActiveFlowSlots.open(account_id=account_id, now=ctx.now)

    # --- runs -------------------------------------------------------------------------------

    def run(self, run_id: UUID, account_id: UUID | None = None) -> FlowRun:
        try:
            run = self.load(run_id, FlowRun)
        except NotFound:
            raise FlowRunNotFound(f"No flow run with id {run_id}") from None
        if account_id is not None and run.account_id != account_id:
            raise FlowRunNotFound(f"No flow run with id {run_id}")
        return run

    def start_run(
        self, ctx: CommandContext, flow_id: UUID, *, account_id: UUID, inputs: Mapping[str, Any]
    ) -> CommandResult:
        """A manual run of an active flow: saved, then handed to a worker."""
        flow = self.flow(flow_id, account_id)
        if not flow.is_active:
            raise FlowNotActive()
        run = FlowRun.start(
            run_id=uuid4(),
            flow_id=flow.id,
            account_id=flow.account_id,
            steps=flow.steps,
            inputs=inputs,
            trigger=Trigger.MANUAL,
            now=ctx.now,
        )
        result = self.record(ctx, run)
        self.queue.advance_later(run.id, run.version)
        return result

    def start_scheduled_run(self, ctx: CommandContext, flow_id: UUID, slot: int) -> CommandResult | None:
        """The run of ``flow_id``'s schedule in ``slot``: its id follows from both, so a second firing starts nothing.

        None when it exists already, or when the flow is no longer active (paused or stopped meanwhile)."""
        run_id = scheduled_run_id(flow_id, slot)
        if self.existing([run_id]):
            return None
        flow = self.flow(flow_id)
        if not flow.is_active or flow.schedule_seconds is None:
            return None
        run = FlowRun.start(
            run_id=run_id,
            flow_id=flow.id,
            account_id=flow.account_id,
            steps=flow.steps,
            inputs={"slot": slot, "scheduled_at": ctx.now.isoformat()},
            trigger=Trigger.SCHEDULE,
            now=ctx.now,
        )
        try:
            result = self.record(ctx, run)
        except ConcurrencyConflict:  # another firing of the same slot saved it first
            return None
        self.queue.advance_later(run.id, run.version)
        return result

    def advance_run(self, run_id: UUID, seen_version: int | None = None, *, now: datetime) -> Advance:
        """Execute the run's next pending step (see the module's docstring); idempotent on the run's stream.

        ``seen_version``: the run's version when this was asked for. A request the run has moved past (it
        has more than the one ``StepStarted`` this request may have recorded before its worker died)
        does nothing: the request that moved it on carries the run further.
        """
        run = self.run(run_id)
        if run.finished:
            return Advance(run.id, None, None, run.status, False)
        if seen_version is not None and (
            run.version > seen_version + 1 or (run.version == seen_version + 1 and not run.in_progress)
        ):
            return Advance(run.id, None, None, run.status, False)
        ctx = run_context(run.id, now, f"advance:{run.version}")
        attempt = run.start_next_step(max_attempts=self.executor.max_attempts, now=now)
        try:
            self.record(ctx, run)
        except ConcurrencyConflict:  # another worker advanced the run meanwhile: it carries on
            return Advance(run.id, None, None, run.status, False)
        if attempt is None:  # the attempts ran out: the run is failed
            return Advance(run.id, None, None, run.status, False)
        index = run.next_index
        step = run.steps[index]
        call = StepCall(
            flow_id=run.flow_id,
            run_id=run.id,
            account_id=run.account_id,
            step_index=index,
            attempt=attempt,
            prompt=step["prompt"],
            config=step["config"],
            inputs=run.inputs,
            outputs=list(run.outputs),
        )
        began = time.perf_counter()
        failure: tuple[str, bool] | None = None
        output: dict[str, Any] = {}
        try:
            output = self._execute(ctx, run, step["agent"], call)
        except AgentFailed as failed:
            failure = (failed.message, failed.retryable)
        except UnknownAgent as unknown:
            failure = (f"no agent {unknown.name!r} is registered", False)
        except DomainError as refused:  # the trade desk's refusal (e.g. the daily trade limit): final
            failure = (f"{refused.code}: {refused.detail}", False)
        # Anything else (the desk's store unavailable) propagates: the attempt stays started and unrecorded,
        # and a redelivery or the resume sweep runs it again as the next attempt.
        duration_us = int((time.perf_counter() - began) * 1_000_000)
        if failure is None:
            run.complete_step(index=index, output=output, duration_us=duration_us, now=now)
        else:
            error, retryable = failure
            run.fail_step(
                index=index, error=error, retryable=retryable, max_attempts=self.executor.max_attempts, now=now
            )
        try:
            self.record(run_context(run.id, now, f"step:{index}:{attempt}"), run)
        except ConcurrencyConflict:  # the run moved on under this worker (a redelivered copy ran too)
            return Advance(run.id, index, attempt, run.status, False)
        if run.finished:
            return Advance(run.id, index, attempt, run.status, False)
        countdown = self.executor.backoff(attempt) if failure is not None else None
        self.queue.advance_later(run.id, run.version, countdown)
        return Advance(run.id, index, attempt, run.status, True)

    def _execute(self, ctx: CommandContext, run: FlowRun, agent_name: str, call: StepCall) -> dict[str, Any]:
        agent = self.registry.get(agent_name)
        try:
            result = agent.run(call)
        except AgentFailed:
            raise
        except Exception as error:  # an agent's own bug: recorded as a failed attempt, not a stuck run
            raise AgentFailed(f"the agent raised {type(error).__name__}", retryable=True) from error
        output = dict(result.output)
        signal = result.signal
        if signal is not None and signal.action in ("buy", "sell"):
            trade_id = signal_trade_id(run.id, call.step_index)
            self.trade_desk.open_signal_trade(
                ctx,
                trade_id=trade_id,
                account_id=run.account_id,
                symbol=signal.symbol,
                side=signal.action,
                quantity=signal.quantity,
                price=signal.price,
                leverage=signal.leverage,
                market_type=signal.market_type,
                flow_id=run.flow_id,
                run_id=run.id,
                agent=agent_name,
            )
            output["trade_id"] = str(trade_id)
        if signal is not None:
            output["signal"] = {
                "action": signal.action,
                "symbol": signal.symbol,
                "quantity": str(signal.quantity),
                "price": str(signal.price),
                "leverage": signal.leverage,
                "market_type": signal.market_type,
            }
        return output
