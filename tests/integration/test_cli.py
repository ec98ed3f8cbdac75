"""The operator's command line against the real PostgreSQL."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from infrastructure.root import Chronicle
from interfaces.cli import app
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock
from tests.integration.conftest import register


def test_projections_status_shows_each_projection_position_and_lag(
    container: Chronicle, clock: Clock, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(container, clock, "status@example.com")
    container.runners["accounts"].catch_up()
    head = container.head_position()
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("PII_MASTER_KEY", TEST_PII_MASTER_KEY)
    monkeypatch.setenv("SUPERADMIN_EMAIL", "")

    result = CliRunner().invoke(app, ["projections", "status"], terminal_width=200)

    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 4}
    assert [cell.strip() for cell in rows["accounts"].split("│")[2:5]] == [str(head), str(head), "0"]
    assert [cell.strip() for cell in rows["mail"].split("│")[2:5]] == ["0", str(head), str(head)]
