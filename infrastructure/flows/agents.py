"""The agents a Chronicle process knows: the built-ins, then whatever the ``chronicle.agents`` entry points add."""

from __future__ import annotations

from application.flows.agents import AgentRegistry
from application.flows.builtin.rendering import PromptRenderer
from application.flows.builtin.rule import RuleAgent
from application.flows.builtin.template import TemplateAgent
from infrastructure.flows.http_agent import HttpAgent
from infrastructure.shared.settings import Settings


def builtin_registry(settings: Settings, *, entry_points: bool = True) -> AgentRegistry:
    """``template``, ``rule`` and ``http`` (limited to ``FLOW_HTTP_AGENT_HOSTS``), plus the installed plug-ins.

    A plug-in naming a built-in agent is refused (``ValueError``): names are unique.
    """
    renderer = PromptRenderer()
    registry = AgentRegistry.of(
        [
            TemplateAgent(renderer),
            RuleAgent(),
            HttpAgent(settings.flow_http_agent_host_set, renderer=renderer),
        ]
    )
    if entry_points:
        registry.load_entry_points()
    return registry
