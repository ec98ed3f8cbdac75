"""Start-up refuses bad settings and an unreachable database in seconds, in a few lines, as a real process.

The table of bad settings runs the command in this process (typer's runner: the same code, no
interpreter start per row); a few rows and the database failures run ``python -m interfaces.cli`` as
an operator would, in a clean environment, to see what a real process prints and how long it takes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner, Result

from infrastructure.shared.settings import DEV_JWT_SECRET, Settings
from interfaces.cli import app
from tests.conftest import TEST_DATABASE_URL, TEST_JWT_SECRET, TEST_PII_MASTER_KEY

ROOT = Path(__file__).parents[2]
STRONG = {"JWT_SECRET": TEST_JWT_SECRET, "PII_MASTER_KEY": TEST_PII_MASTER_KEY}
SERVER = {"DATABASE_URL": TEST_DATABASE_URL, **STRONG}

# env -> the setting the refusal must name. Each row's process exits 2 before it connects anywhere.
BAD_SETTINGS: dict[str, tuple[dict[str, str], str]] = {
    "negative login failures": ({"LOGIN_MAX_FAILURES": "-1"}, "LOGIN_MAX_FAILURES"),
    "negative access token lifetime": ({"ACCESS_TOKEN_TTL_SECONDS": "-5"}, "ACCESS_TOKEN_TTL_SECONDS"),
    "refresh shorter than access": ({"REFRESH_TOKEN_TTL_SECONDS": "60"}, "REFRESH_TOKEN_TTL_SECONDS"),
    "empty read pool": ({"READ_POOL_SIZE": "0"}, "READ_POOL_SIZE"),
    "empty projection batches": ({"PROJECTION_BATCH_SIZE": "0"}, "PROJECTION_BATCH_SIZE"),
    "not a number": ({"LOGIN_LOCKOUT_MINUTES": "soon"}, "LOGIN_LOCKOUT_MINUTES"),
    "short secret": ({"JWT_SECRET": "x"}, "JWT_SECRET"),
    "the old development secret": ({"JWT_SECRET": DEV_JWT_SECRET}, "JWT_SECRET"),
    "compose's old fallback secret": ({"JWT_SECRET": "change-me-in-production"}, "JWT_SECRET"),
    "no secret with PostgreSQL": ({"DATABASE_URL": TEST_DATABASE_URL}, "JWT_SECRET"),
    "the old development secret with PostgreSQL": (
        {"DATABASE_URL": TEST_DATABASE_URL, "JWT_SECRET": DEV_JWT_SECRET},
        "JWT_SECRET",
    ),
    "a MySQL URL": ({"DATABASE_URL": "mysql://root@127.0.0.1:3306/chronicle", **STRONG}, "DATABASE_URL"),
    "an unknown URL parameter": ({"DATABASE_URL": f"{TEST_DATABASE_URL}?sslmod=require", **STRONG}, "DATABASE_URL"),
    "a URL without a database": ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432", **STRONG}, "DATABASE_URL"),
    "an http Redis URL": ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL"),
    "an ftp base URL": ({"PUBLIC_BASE_URL": "ftp://example.com"}, "PUBLIC_BASE_URL"),
    "compose's old superadmin password": (
        {**SERVER, "SUPERADMIN_EMAIL": "boss@example.com", "SUPERADMIN_PASSWORD": "ChangeMe123"},
        "SUPERADMIN_PASSWORD",
    ),
    "a short superadmin password": (
        {**SERVER, "SUPERADMIN_EMAIL": "boss@example.com", "SUPERADMIN_PASSWORD": "Sh0rt-pass"},
        "SUPERADMIN_PASSWORD",
    ),
    "a superadmin without a password": ({"SUPERADMIN_EMAIL": "boss@example.com"}, "SUPERADMIN_PASSWORD"),
}


@dataclass(frozen=True)
class Run:
    returncode: int
    stderr: str
    seconds: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(env: dict[str, str], cwd: Path, command: str = "serve") -> tuple[subprocess.Popen[str], float]:
    """The CLI as an operator runs it: a fresh interpreter, only these settings, no .env in its folder."""
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(ROOT), **env}
    clean.setdefault("DATA_DIR", str(cwd / "data"))
    arguments = [sys.executable, "-m", "interfaces.cli", command]
    if command == "serve":
        arguments += ["--port", str(free_port())]
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
        arguments, cwd=cwd, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, time.monotonic()


def finish(process: subprocess.Popen[str], started: float, timeout: float = 30) -> Run:
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return Run(process.returncode, stderr, time.monotonic() - started)


def cli(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str = "serve") -> Result:
    """The same command in this process (fast): only ``env`` is set of Chronicle's settings."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    arguments = [command, "--port", str(free_port())] if command == "serve" else command.split()
    return CliRunner().invoke(app, arguments, env={"DATA_DIR": str(tmp_path / "data"), **env})


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_a_bad_setting_stops_the_server_naming_the_setting(
    case: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env, setting = BAD_SETTINGS[case]

    result = cli(env, monkeypatch, tmp_path)

    assert result.exit_code == 2, result.output
    assert f"{setting}: " in result.output
    assert len(result.output.splitlines()) <= 3
    assert isinstance(result.exception, SystemExit)  # typer's exit, not an error escaping


@pytest.mark.parametrize("command", ["project", "projections status", "projections rebuild accounts"])
def test_every_command_refuses_a_bad_setting_the_same_way(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env, setting = BAD_SETTINGS["short secret"]

    result = cli(env, monkeypatch, tmp_path, command)

    assert result.exit_code == 2, result.output
    assert f"{setting}: " in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_real_process_with_bad_settings_exits_in_seconds_with_lines_not_a_traceback(tmp_path: Path) -> None:
    cases = ("negative login failures", "short secret", "a MySQL URL")
    running = {case: launch(BAD_SETTINGS[case][0], tmp_path) for case in cases}

    runs = {case: finish(*started) for case, started in running.items()}

    for case, run in runs.items():
        assert run.returncode == 2, run.stderr
        assert f"{BAD_SETTINGS[case][1]}: " in run.stderr
        assert "Traceback" not in run.stderr
        assert run.seconds < 30  # a fresh interpreter's imports, three at once, on a shared machine; it used to serve


def test_a_dead_database_port_stops_the_server_within_seconds_naming_host_port_and_cause(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there once the probe socket is closed

    run = finish(*launch({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/chronicle", **STRONG}, tmp_path))

    assert run.returncode == 1, run.stderr
    assert f"127.0.0.1:{port}" in run.stderr and "'chronicle'" in run.stderr
    assert "connection refused" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.seconds < 10  # the refusal itself is immediate; this is mostly the interpreter's imports


def test_a_missing_database_stops_the_projector_naming_the_database(tmp_path: Path) -> None:
    params = conninfo_to_dict(TEST_DATABASE_URL)
    host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
    url = f"postgresql://{params.get('user', 'postgres')}@{host}:{port}/chronicle_no_such_database"

    run = finish(*launch({"DATABASE_URL": url, **STRONG}, tmp_path, command="project"))

    assert run.returncode == 1, run.stderr
    assert f"{host}:{port}" in run.stderr
    assert 'database "chronicle_no_such_database" does not exist' in run.stderr
    assert "Traceback" not in run.stderr
    assert run.seconds < 10


def test_a_database_that_never_answers_fails_the_start_after_the_connect_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts TCP (the kernel's backlog) but never speaks PostgreSQL
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        env = {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/chronicle",
            "DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
        }
        started = time.monotonic()

        result = cli({**env, **STRONG}, monkeypatch, tmp_path, command="project")

    assert result.exit_code == 1, result.output
    assert f"127.0.0.1:{port}" in result.output and "no answer within 1 s" in result.output
    assert time.monotonic() - started < 4
