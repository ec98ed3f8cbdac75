"""The Flow aggregate: an account's automation, ordered steps of prompt template, agent and config.

Statuses: ``draft`` (defined, never activated), ``active`` (runs: manually or on its schedule),
``paused`` (no runs; its steps may be edited again) and ``stopped`` (the end: no change, no run).

Invariants:
- a flow has 1 to ``MAX_STEPS`` steps, each a prompt template (at most ``MAX_PROMPT`` characters),
  an agent name and a config object (the agent's own rules are checked by the application, with the
  agent, when the flow is defined or edited: never first when it runs);
- steps change only while the flow is a draft or paused; a stopped flow accepts nothing;
- a schedule, when set, is an interval of ``MIN_SCHEDULE_SECONDS`` to ``MAX_SCHEDULE_SECONDS``;
- an account has at most its plan's ``active_flows`` flows active at once: ``ActiveFlowSlots`` (one
  stream per account) is taken in the same save as the activation and released in the save of a
  pause or stop, so of racing activations only as many as the limit commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.flows.errors import (
    ActiveFlowsLimitReached,
    FlowAlreadyActive,
    FlowNotActive,
    FlowNotEditable,
    FlowStopped,
    InvalidFlow,
)
from domain.shared.text import unstorable


class FlowStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


ACTIVE_FLOWS: Final = "active_flows"  # the plan limit's name
MAX_TITLE: Final = 200
MAX_DESCRIPTION: Final = 2000
MAX_STEPS: Final = 20
MAX_PROMPT: Final = 4000
MAX_AGENT_NAME: Final = 64
MIN_SCHEDULE_SECONDS: Final = 60
MAX_SCHEDULE_SECONDS: Final = 30 * 24 * 3600
_AGENT_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")


def _text(value: str, what: str, *, max_length: int, required: bool, multi_line: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidFlow(f"The {what} is required")
    if len(text) > max_length:
        raise InvalidFlow(f"The {what} has at most {max_length} characters")
    problem = unstorable(text, multi_line=multi_line)
    if problem:
        raise InvalidFlow(f"The {what} {problem}")
    return text


def check_steps(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The steps as a flow stores them (``{prompt, agent, config}`` each), or ``InvalidFlow``."""
    if not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidFlow(f"A flow has 1 to {MAX_STEPS} steps")
    checked = []
    for index, step in enumerate(steps):
        prompt, agent, config = step.get("prompt"), step.get("agent"), step.get("config", {})
        if not isinstance(prompt, str) or not isinstance(agent, str) or not isinstance(config, Mapping):
            raise InvalidFlow(f"Step {index} needs a prompt and an agent (text) and a config (an object)")
        if len(prompt) > MAX_PROMPT or unstorable(prompt, multi_line=True):
            raise InvalidFlow(f"Step {index}'s prompt has at most {MAX_PROMPT} storable characters")
        if not 0 < len(agent) <= MAX_AGENT_NAME or not set(agent) <= _AGENT_CHARS:
            raise InvalidFlow(f"Step {index}'s agent is a name of 1 to {MAX_AGENT_NAME} of a-z 0-9 _ - .")
        checked.append({"prompt": prompt, "agent": agent, "config": dict(config)})
    return checked


def check_schedule(seconds: int | None) -> int | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not MIN_SCHEDULE_SECONDS <= seconds <= MAX_SCHEDULE_SECONDS:
        raise InvalidFlow(f"A schedule is every {MIN_SCHEDULE_SECONDS} to {MAX_SCHEDULE_SECONDS} seconds")
    return seconds


class Flow(Aggregate):
    """One account's flow, from its definition to its stop."""

    class Defined(Aggregate.Created):
        account_id: UUID
        title: str
        description: str
        steps: list[dict[str, Any]]
        schedule_seconds: int | None

    class StepsEdited(Aggregate.Event):
        steps: list[dict[str, Any]]

        def apply(self, flow: Flow) -> None:
            flow.steps = list(self.steps)

    class Activated(Aggregate.Event):
        def apply(self, flow: Flow) -> None:
            flow.status = FlowStatus.ACTIVE.value

    class Paused(Aggregate.Event):
        def apply(self, flow: Flow) -> None:
            flow.status = FlowStatus.PAUSED.value

    class Stopped(Aggregate.Event):
        def apply(self, flow: Flow) -> None:
            flow.status = FlowStatus.STOPPED.value

    def __init__(
        self, account_id: UUID, title: str, description: str, steps: list[dict[str, Any]], schedule_seconds: int | None
    ) -> None:
        self.account_id = account_id
        self.title = title
        self.description = description
        self.steps = list(steps)
        self.schedule_seconds = schedule_seconds
        self.status = FlowStatus.DRAFT.value

    @classmethod
    def define(
        cls,
        *,
        flow_id: UUID,
        account_id: UUID,
        title: str,
        description: str,
        steps: Sequence[Mapping[str, Any]],
        schedule_seconds: int | None = None,
        now: datetime,
    ) -> Flow:
        return cls._create(
            cls.Defined,
            id=flow_id,
            timestamp=now,
            account_id=account_id,
            title=_text(title, "title", max_length=MAX_TITLE, required=True),
            description=_text(description, "description", max_length=MAX_DESCRIPTION, required=False, multi_line=True),
            steps=check_steps(steps),
            schedule_seconds=check_schedule(schedule_seconds),
        )

    @property
    def is_active(self) -> bool:
        return self.status == FlowStatus.ACTIVE

    def _not_stopped(self) -> None:
        if self.status == FlowStatus.STOPPED:
            raise FlowStopped()

    def edit_steps(self, *, steps: Sequence[Mapping[str, Any]], now: datetime) -> None:
        self._not_stopped()
        if self.status not in (FlowStatus.DRAFT, FlowStatus.PAUSED):
            raise FlowNotEditable()
        self.trigger_event(self.StepsEdited, steps=check_steps(steps), timestamp=now)

    def activate(self, *, slots: ActiveFlowSlots, limit: int | None, now: datetime) -> None:
        """Active from now, taking one of the account's slots (``limit``: the plan's, None for unlimited)."""
        self._not_stopped()
        if self.is_active:
            raise FlowAlreadyActive()
        slots.take(flow_id=self.id, limit=limit, now=now)
        self.trigger_event(self.Activated, timestamp=now)

    def pause(self, *, slots: ActiveFlowSlots, now: datetime) -> None:
        self._not_stopped()
        if not self.is_active:
            raise FlowNotActive()
        slots.release(flow_id=self.id, now=now)
        self.trigger_event(self.Paused, timestamp=now)

    def stop(self, *, slots: ActiveFlowSlots, now: datetime) -> None:
        self._not_stopped()
        slots.release(flow_id=self.id, now=now)
        self.trigger_event(self.Stopped, timestamp=now)


def slots_id_for(account_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"chronicle:active-flow-slots:{account_id}")


class ActiveFlowSlots(Aggregate):
    """The account's active flows: one stream per account, its id derived from the account.

    Every activation, pause and stop of the account's flows writes its next version, so of two
    activations racing, one commits and the other reloads and decides again on the new count.
    """

    class Opened(Aggregate.Created):
        account_id: UUID

    class Taken(Aggregate.Event):
        flow_id: UUID

        def apply(self, slots: ActiveFlowSlots) -> None:
            slots.active.append(self.flow_id)

    class Released(Aggregate.Event):
        flow_id: UUID

        def apply(self, slots: ActiveFlowSlots) -> None:
            slots.active.remove(self.flow_id)

    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.active: list[UUID] = []

    @classmethod
    def open(cls, *, account_id: UUID, now: datetime) -> ActiveFlowSlots:
        return cls._create(cls.Opened, id=slots_id_for(account_id), timestamp=now, account_id=account_id)

    def take(self, *, flow_id: UUID, limit: int | None, now: datetime) -> None:
        if flow_id in self.active:
            return
        if limit is not None and len(self.active) >= limit:
            raise ActiveFlowsLimitReached(limit)
        self.trigger_event(self.Taken, flow_id=flow_id, timestamp=now)

    def release(self, *, flow_id: UUID, now: datetime) -> None:
        if flow_id in self.active:
            self.trigger_event(self.Released, flow_id=flow_id, timestamp=now)
