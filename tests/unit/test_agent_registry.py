"""The agent registry: the built-ins, and plug-ins found through a real ``chronicle.agents`` entry point.

The plug-in is a real distribution: a ``*.dist-info`` folder with ``METADATA`` and ``entry_points.txt``
and its module, on a temporary ``sys.path`` entry, found by ``importlib.metadata`` as pip's would be.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.flows.agents import AgentRegistry, StepCall, UnknownAgent
from infrastructure.flows.agents import builtin_registry
from infrastructure.shared.settings import Settings

PLUGIN = """
from application.flows.agents import StepResult


class EchoAgent:
    name = "echo"

    def validate_config(self, config):
        return dict(config)

    def run(self, call):
        return StepResult(output={"echo": call.inputs.get("say", "")})


def make():
    return EchoAgent()
"""


def install(root: Path, name: str, module: str, source: str, entry: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[chronicle.agents]\n{entry}\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.startswith("chronicle_test_plugin")]:
            del sys.modules[module]


def test_the_builtin_registry_names_the_template_rule_and_http_agents() -> None:
    registry = builtin_registry(Settings(), entry_points=False)

    assert registry.names() == ["http", "rule", "template"]


def test_the_http_agent_gets_the_allowed_hosts_from_the_settings() -> None:
    registry = builtin_registry(Settings(flow_http_agent_hosts="agents.example.com"), entry_points=False)

    assert registry.get("http").validate_config({"url": "https://agents.example.com/x"})["url"] == (
        "https://agents.example.com/x"
    )


def test_an_installed_distribution_adds_its_agent_through_the_entry_point_group(site: Path) -> None:
    install(
        site,
        "chronicle-test-plugin-echo",
        "chronicle_test_plugin_echo",
        PLUGIN,
        "echo = chronicle_test_plugin_echo:make",
    )

    registry = builtin_registry(Settings())

    assert registry.names() == ["echo", "http", "rule", "template"]
    echo = registry.get("echo")
    call = StepCall(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 0, 1, "", {}, {"say": "hi"}, [])
    assert echo.run(call).output == {"echo": "hi"}


def test_a_plugin_that_takes_a_builtin_name_is_refused(site: Path) -> None:
    source = PLUGIN.replace('name = "echo"', 'name = "rule"')
    install(
        site,
        "chronicle-test-plugin-rule",
        "chronicle_test_plugin_rule",
        source,
        "rule = chronicle_test_plugin_rule:make",
    )

    with pytest.raises(ValueError, match="'rule' is registered twice"):
        builtin_registry(Settings())


def test_without_the_distribution_no_plugin_is_found() -> None:
    assert builtin_registry(Settings()).names() == ["http", "rule", "template"]


def test_an_unknown_agent_is_named_in_its_error() -> None:
    with pytest.raises(UnknownAgent) as unknown:
        AgentRegistry().get("oracle")

    assert unknown.value.name == "oracle"
