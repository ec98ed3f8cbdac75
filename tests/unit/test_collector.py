"""A long-running process sets its garbage collector once started (``GC_YOUNG_THRESHOLD``), and only such a process.

The collector is the interpreter's, one per process: what ``tune_collector`` does is looked at in a fresh
interpreter, and the processes' entry points are checked for calling it, so this test process keeps its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

import interfaces.cli
import interfaces.http.app
from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.cli import app as cli
from interfaces.http.app import create_app, serve_app

ROOT = Path(__file__).resolve().parents[2]


def collector_after(call: str) -> dict[str, object]:
    """The collector of a fresh interpreter after ``call`` (Python code with ``tune_collector`` imported)."""
    code = (
        "import gc, json\n"
        "from infrastructure.shared.collector import tune_collector\n"
        "kept = [object() for _ in range(10)]\n"
        f"{call}\n"
        "print(json.dumps({'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count()}))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=60
    )
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def test_a_tuned_process_freezes_what_is_alive_and_collects_its_young_generation_less_often() -> None:
    interpreter = collector_after("pass")
    tuned = collector_after("tune_collector(50_000)")

    assert interpreter == {"threshold": [700, 10, 10], "frozen": 0}
    assert tuned["threshold"] == [50_000, 10, 10]
    assert isinstance(tuned["frozen"], int) and tuned["frozen"] > 1000  # the modules, the objects made so far


def test_a_threshold_of_zero_leaves_the_interpreters_collector_as_it_is() -> None:
    assert collector_after("tune_collector(0)") == collector_after("pass")


@pytest.mark.parametrize("value", [-1, 10_000_001])
def test_a_threshold_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(ValidationError, match="gc_young_threshold"):
        Settings(database_url=None, gc_young_threshold=value, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def tuned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """The thresholds the entry points asked for, on the embedded store in ``tmp_path``, the collector untouched."""
    calls: list[int] = []
    for module in (interfaces.http.app, interfaces.cli):
        monkeypatch.setattr(module, "tune_collector", calls.append)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SUPERADMIN_EMAIL", "SUPERADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GC_YOUNG_THRESHOLD", "12345")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return calls


def test_the_served_app_sets_its_processs_collector_once_started(tuned: list[int]) -> None:
    served = serve_app()
    assert tuned == []  # building the app is not starting it

    with TestClient(served) as client:
        assert client.get("/health").status_code == 200
        assert tuned == [12345]


def test_an_app_built_for_a_test_or_a_caller_leaves_the_collector_alone(tuned: list[int], tmp_path: Path) -> None:
    with TestClient(create_app(Settings(_env_file=None))) as client:  # type: ignore[call-arg]
        assert client.get("/health").status_code == 200

    assert tuned == []


def test_the_rebuild_command_sets_its_processs_collector(tuned: list[int]) -> None:
    result = CliRunner().invoke(cli, ["projections", "rebuild", "accounts"])

    assert result.exit_code == 0, result.output
    assert tuned == [12345]


def test_chronicle_serve_runs_the_served_app_in_each_worker() -> None:
    module, _, factory = interfaces.cli.APP_FACTORY.partition(":")
    assert (module, factory) == ("interfaces.http.app", serve_app.__name__)


def test_the_projection_worker_sets_its_processs_collector(tuned: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[bool] = []
    monkeypatch.setattr(Chronicle, "run_projections_forever", lambda self: ran.append(tuned == [12345]))

    result = CliRunner().invoke(cli, ["project"])

    assert result.exit_code == 0, result.output
    assert ran == [True]  # set before the followers start
