"""docker-compose.yml requires every secret (no fallback value that a forgotten .env would silently use), and runs
the background jobs: a Celery worker and beat, each with a health check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

COMPOSE = (Path(__file__).parents[2] / "docker-compose.yml").read_text()
SECRETS = ("JWT_SECRET", "PII_MASTER_KEY", "SUPERADMIN_EMAIL", "SUPERADMIN_PASSWORD", "POSTGRES_PASSWORD")


@pytest.mark.parametrize("name", SECRETS)
def test_compose_refuses_to_start_without_the_secret(name: str) -> None:
    uses = re.findall(r"\$\{" + name + r"(:?[-?+]?)[^}]*\}", COMPOSE)

    assert uses, f"{name} is not taken from the environment"
    assert set(uses) == {":?"}, f"{name} has a fallback or is optional: {uses}"


def test_compose_spells_out_no_password_of_its_own() -> None:
    assert not re.search(r"^\s*\w*(PASSWORD|SECRET)\w*:\s*[^\s$]", COMPOSE, re.MULTILINE)
    assert not re.search(r"postgresql://[^:/]+:[^$@]+@", COMPOSE)


def service(name: str) -> str:
    """The lines of one service's block (indented under ``services:``)."""
    match = re.search(rf"^  {name}:\n((?:    .*\n|\s*\n)+)", COMPOSE, re.MULTILINE)
    assert match, f"no service {name!r}"
    return match.group(1)


@pytest.mark.parametrize(
    ("name", "command", "node"), [("worker", "worker", "chronicle"), ("beat", "beat", "celerybeat")]
)
def test_compose_runs_the_jobs_with_a_health_check_that_pings_the_process(name: str, command: str, node: str) -> None:
    block = service(name)

    assert f'command: ["chronicle", "{command}"]' in block
    assert "environment: *chronicle-env" in block
    assert re.search(rf"test: .*celery -A interfaces\.worker inspect ping -d {node}@\$\$HOSTNAME", block)
    assert re.search(r"api:\s*\n\s*condition: service_healthy", block)
