"""``chronicle serve --workers 2`` as a real process tree on PostgreSQL: both workers serve, /metrics sums
their counts whichever answers the scrape, a worker killed with SIGKILL is replaced and its live gauges
no longer count; and the worker counts that are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from infrastructure.root import Chronicle
from interfaces.cli import app
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually
from tests.e2e.helpers import free_port
from tests.integration.conftest import register, wipe_database

ROOT = Path(__file__).parents[2]
WORKERS = 2
EVENT_STORE_POOL = 2 + 2  # POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW, the defaults


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def lines(self) -> list[dict[str, Any]]:
        """Every line the server and its workers logged, each parsed as the one JSON object it must be."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def request_pids(self, prefix: str) -> set[int]:
        return {
            int(line["pid"])
            for line in self.lines()
            if line.get("message") == "request" and str(line.get("path", "")).startswith(prefix)
        }


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def fresh_get(url: str) -> httpx.Response:
    """One request on a connection of its own: the kernel hands each new connection to either worker."""
    with httpx.Client(timeout=30) as client:
        return client.get(url)


@pytest.fixture
def served(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Served]:
    wipe_database(postgres_url)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "PII_MASTER_KEY": TEST_PII_MASTER_KEY,
        "DATA_DIR": str(tmp_path / "data"),
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        "RATE_LIMIT_KEY_PREFIX": f"test-workers-{port}",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port), "--workers", str(WORKERS)]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=out)  # noqa: S603
    server = Served(port, process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if fresh_get(server.url("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_two_workers_serve_and_metrics_sum_their_counts_and_a_killed_worker_is_replaced(served: Served) -> None:
    sent = 0
    while len(served.request_pids("/no-such/")) < WORKERS:  # until both workers have answered some
        assert sent < 400, "only one worker ever answered"
        for _ in range(10):
            assert fresh_get(served.url(f"/no-such/{sent}")).status_code == 404
            sent += 1
        time.sleep(0.05)  # the log lines are written as the answers go out
    workers = served.request_pids("/no-such/")

    def scrape() -> str:
        answer = fresh_get(served.url("/metrics"))  # loopback: allowed without a token
        assert answer.status_code == 200, answer.text
        return answer.text

    # Whichever worker answers the scrape, it counts every worker's requests.
    for _ in range(4):
        assert metric(scrape(), "chronicle_http_requests_total", method="GET", route="unmatched", status="404") == sent
    assert (
        metric(scrape(), "chronicle_db_pool_connections", pool="event_store", state="max") == WORKERS * EVENT_STORE_POOL
    )

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int]:
        found = served.request_pids("/again/")
        fresh_get(served.url(f"/again/{time.monotonic_ns()}"))
        return found - workers  # empty (falsy) until a replacement worker has answered

    eventually(replaced, timeout=90, interval=0.2)
    # The dead worker's counts stay (they happened); its live gauges are gone, the replacement's count instead.
    text = eventually(lambda: _with_pool_max(scrape(), WORKERS * EVENT_STORE_POOL), timeout=30, interval=0.2)
    assert metric(text, "chronicle_http_requests_total", method="GET", route="unmatched", status="404") >= sent
    assert all(isinstance(line, dict) for line in served.lines())  # every line of every process is JSON


def _with_pool_max(text: str, expected: float) -> str | None:
    return text if metric(text, "chronicle_db_pool_connections", pool="event_store", state="max") == expected else None


def test_the_embedded_store_refuses_several_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SUPERADMIN_EMAIL", "SUPERADMIN_PASSWORD", "API_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))

    result = CliRunner().invoke(app, ["serve", "--workers", "2"])

    assert result.exit_code == 1
    assert "API_WORKERS: the embedded store serves with one worker" in result.output


def test_several_workers_without_redis_are_refused(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "SUPERADMIN_EMAIL", "SUPERADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("PII_MASTER_KEY", TEST_PII_MASTER_KEY)
    monkeypatch.setenv("API_WORKERS", "3")

    result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 1
    assert "several workers need REDIS_URL" in result.output


def test_the_projection_worker_serves_its_batch_metrics_on_its_metrics_port(
    container: Chronicle, clock: Clock, tmp_path: Path, postgres_url: str
) -> None:
    register(container, clock, "projected@example.com")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": postgres_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "PII_MASTER_KEY": TEST_PII_MASTER_KEY,
        "DATA_DIR": str(tmp_path / "data"),
    }
    log = tmp_path / "project.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "interfaces.cli", "project", "--metrics-port", str(port)]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=out)  # noqa: S603
    try:

        def folded() -> float:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                return 0.0
            return metric(text, "chronicle_projection_entries_total", projection="accounts")

        assert eventually(folded, timeout=90, interval=0.2) >= 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
