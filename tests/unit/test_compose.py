"""docker-compose.yml requires every secret: no fallback value that a forgotten .env would silently use."""

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
