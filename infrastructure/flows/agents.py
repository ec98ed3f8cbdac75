"""The agents this deployment knows: the built-ins and those of the ``chronicle.agents`` entry points."""

from __future__ import annotations

from application.flows.agents import AgentRegistry
from infrastructure.shared.settings import Settings


def builtin_registry(settings: Settings) -> AgentRegistry:
    """The registry the composition root passes to ``wire_flows`` (the built-in agents are added here)."""
    del settings  # the built-ins' settings (the HTTP agent's limits) are read here once they are added
    registry = AgentRegistry()
    registry.load_entry_points()
    return registry
