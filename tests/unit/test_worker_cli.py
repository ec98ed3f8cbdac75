"""`chronicle worker` / `chronicle beat` refuse to start, in one line, when they could not do their work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from interfaces.cli import app


@pytest.fixture(autouse=True)
def embedded_without_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_without_a_broker_the_job_processes_refuse_to_start(command: str) -> None:
    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 1
    assert "CELERY_BROKER_URL or REDIS_URL" in result.output
    assert "Traceback" not in result.output


def test_a_worker_pool_other_than_solo_threads_or_prefork_is_refused() -> None:
    result = CliRunner().invoke(app, ["worker", "--pool", "gevent"])

    assert result.exit_code == 2
    assert "solo, threads or prefork" in result.output
