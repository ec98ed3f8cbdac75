"""What a flow's step runs: an agent. The contract every agent keeps, and the registry that names them.

Agents are pluggable and model-agnostic. A step names its agent and gives it a config; the config is
checked against the agent's rules (``validate_config``) when the flow is defined or edited, never
first when it runs. A run calls ``run`` with a ``StepCall`` holding everything the step may use: the
run's inputs, the outputs of the steps before it and an idempotency key that stays the same when a
step is executed again after a crash (``<run id>:<step index>``), to be sent on to outside services.

Built-in agents are registered by the flows wiring; others come from the ``chronicle.agents`` entry-point
group (each entry point names a callable answering an ``Agent``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol, runtime_checkable
from uuid import UUID

ENTRY_POINT_GROUP = "chronicle.agents"

Json = Any  # a value JSON can hold: str, int, float, bool, None, lists and dicts of them
Action = Literal["buy", "sell", "hold"]


@dataclass(frozen=True)
class TradeSignal:
    """What a step may yield besides its output: an order to trade (``hold`` opens nothing)."""

    action: Action
    symbol: str
    quantity: Decimal
    price: Decimal
    leverage: int = 1
    market_type: str = "crypto"


@dataclass(frozen=True)
class StepCall:
    """One execution of one step of one run."""

    flow_id: UUID
    run_id: UUID
    account_id: UUID
    step_index: int
    attempt: int  # 1 for the first execution of this step, 2 after a failure or a crash, ...
    prompt: str  # the step's prompt template, as defined
    config: Mapping[str, Json]  # the step's config, as validated by ``validate_config``
    inputs: Mapping[str, Json]  # the run's inputs
    outputs: Sequence[Mapping[str, Json]]  # the outputs of the steps before this one, in order

    @property
    def idempotency_key(self) -> str:
        """The same for every execution of this step of this run: outside calls may be repeated, never doubled."""
        return f"{self.run_id}:{self.step_index}"


@dataclass(frozen=True)
class StepResult:
    """What a step answers: its output (a JSON object, recorded in the run's history) and maybe a trade signal."""

    output: Mapping[str, Json]
    signal: TradeSignal | None = None


class AgentFailed(Exception):
    """The step did not succeed. ``retryable``: another attempt may (a timeout, a 5xx); otherwise the run fails."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a step's config: where (``loc``, e.g. ``("thresholds", "buy_below")``) and what."""

    loc: tuple[str | int, ...]
    msg: str


class InvalidAgentConfig(ValueError):
    """A step's config breaks its agent's rules; ``problems`` lists every one."""

    def __init__(self, agent: str, problems: Sequence[ConfigProblem]) -> None:
        super().__init__(f"config for agent {agent!r} is not valid")
        self.agent = agent
        self.problems = tuple(problems)


class UnknownAgent(LookupError):
    """No agent of that name is registered."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Agent(Protocol):
    """An agent: a name, a config check, and the execution of one step."""

    @property
    def name(self) -> str: ...

    def validate_config(self, config: Mapping[str, Json]) -> dict[str, Json]:
        """The config normalised, or ``InvalidAgentConfig`` listing every problem."""
        ...

    def run(self, call: StepCall) -> StepResult:
        """Executes the step; ``AgentFailed`` when it does not succeed."""
        ...


@runtime_checkable
class ChecksPrompt(Protocol):
    """An agent that uses its step's prompt checks it at define time too (a template that does not compile)."""

    def prompt_problems(self, prompt: str) -> list[ConfigProblem]:
        """What is wrong with ``prompt`` for this agent, each with its loc inside the prompt (usually ``()``)."""
        ...


def validate_step(agent: Agent, prompt: str, config: Mapping[str, Json]) -> dict[str, Json]:
    """A step's config normalised, checking its prompt too when the agent uses one (``ChecksPrompt``).

    ``InvalidAgentConfig`` lists every problem of both, each loc starting with ``"prompt"`` or ``"config"``.
    """
    checked = agent.prompt_problems(prompt) if isinstance(agent, ChecksPrompt) else []
    problems = [ConfigProblem(("prompt", *p.loc), p.msg) for p in checked]
    try:
        normalised = agent.validate_config(config)
    except InvalidAgentConfig as invalid:
        problems += [ConfigProblem(("config", *p.loc), p.msg) for p in invalid.problems]
    if problems:
        raise InvalidAgentConfig(agent.name, problems)
    return normalised


@dataclass
class AgentRegistry:
    """The agents a process knows, by name."""

    _agents: dict[str, Agent] = field(default_factory=dict)

    @classmethod
    def of(cls, agents: Iterable[Agent]) -> AgentRegistry:
        registry = cls()
        for agent in agents:
            registry.register(agent)
        return registry

    def register(self, agent: Agent) -> None:
        if agent.name in self._agents:
            raise ValueError(f"agent {agent.name!r} is registered twice")
        self._agents[agent.name] = agent

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Registers every agent the installed distributions offer in ``group`` (each a factory of an ``Agent``)."""
        for point in entry_points(group=group):
            self.register(point.load()())

    def get(self, name: str) -> Agent:
        agent = self._agents.get(name)
        if agent is None:
            raise UnknownAgent(name)
        return agent

    def names(self) -> list[str]:
        return sorted(self._agents)
