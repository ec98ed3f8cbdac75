"""Real Celery worker processes for the jobs tests: started with the ``celery`` command, killed for real.

``CeleryWorkers.start(app_module)`` runs ``python -m celery -A <app_module> worker --pool=solo`` in a
process group of its own, on the test broker (``TEST_CELERY_BROKER_URL``, default Redis db 10) and a
queue of the test's own; ``kill(worker)`` sends SIGKILL; at the end every process still alive is
stopped (SIGTERM, then SIGKILL), so no worker outlives its test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery import Celery

ROOT = Path(__file__).parents[2]
TEST_CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/10")


@dataclass
class Worker:
    node: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class CeleryWorkers:
    """Starts and stops the worker processes of one test; ``env`` is what they (and the test's app) read."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[Worker] = []

    def start(self, app_module: str, *, ready: Celery | None, pool: str = "solo", cli: bool = False) -> Worker:
        """A worker of ``app_module``; waits until it answers a ping through ``ready`` (None: does not wait).
        ``pool="prefork"``: one child process runs the tasks (``children`` finds it). ``cli``: started as
        ``chronicle worker`` (whose app is ``interfaces.worker``'s) instead of the Celery command."""
        node = f"test-{uuid.uuid4().hex[:8]}@%h"
        log = self.tmp_path / f"worker-{len(self.started)}.log"
        if cli:
            command = [sys.executable, "-m", "interfaces.cli", "worker", f"--pool={pool}", f"--hostname={node}"]
        else:
            command = [sys.executable, "-m", "celery", "-A", app_module, "worker", f"--pool={pool}", "-n", node]
            command += ["--concurrency=1", "--without-gossip", "--without-mingle", "--loglevel=INFO"]
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(node.replace("%h", _hostname()), process, log)
        self.started.append(worker)
        if ready is not None:
            self._wait_ready(worker, ready)
        return worker

    def start_beat(self, app_module: str, *, ready: Celery) -> Worker:
        """``celery beat`` for ``app_module``; ready once it answers a ping as ``celerybeat@<host>``."""
        log = self.tmp_path / f"beat-{len(self.started)}.log"
        schedule = self.tmp_path / "beat-schedule"
        command = [sys.executable, "-m", "celery", "-A", app_module, "beat", "--loglevel=INFO", "-s", str(schedule)]
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        beat = Worker(f"celerybeat@{_hostname()}", process, log)
        self.started.append(beat)
        self._wait_ready(beat, ready)
        return beat

    def _wait_ready(self, worker: Worker, app: Celery, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.process.poll() is not None:
                raise AssertionError(f"worker exited with {worker.process.returncode}:\n{worker.output()}")
            if app.control.ping(destination=[worker.node], timeout=1.0):
                return
        raise AssertionError(f"worker {worker.node} did not answer a ping within {timeout} s:\n{worker.output()}")

    def children(self, worker: Worker) -> list[int]:
        """The pids of the worker's child processes (prefork), as Linux lists them."""
        pid = worker.process.pid
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def kill(self, worker: Worker) -> None:
        """SIGKILL: no warm shutdown, the task in hand is neither finished nor given back."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=30)

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                os.killpg(worker.process.pid, signal.SIGTERM)
        for worker in self.started:
            try:
                worker.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait(timeout=10)


def _hostname() -> str:
    import socket

    return socket.gethostname()


@pytest.fixture
def broker_url() -> str:
    """The test broker, emptied: only this suite's Redis db is flushed."""
    try:
        redis.Redis.from_url(TEST_CELERY_BROKER_URL, socket_connect_timeout=3).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {TEST_CELERY_BROKER_URL} is not reachable: {error}", pytrace=False)
    return TEST_CELERY_BROKER_URL


@pytest.fixture
def celery_env(broker_url: str) -> dict[str, str]:
    """What the test's worker processes and the test's own Celery app read: a queue of this test's own,
    a short visibility timeout (a killed worker's task comes back within seconds)."""
    return {
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": f"test-{uuid.uuid4().hex[:12]}",
        "CELERY_TASK_TIME_LIMIT_SECONDS": "5",
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "6",
        "CELERY_RESTORE_INTERVAL_SECONDS": "1",
    }


@pytest.fixture
def workers(tmp_path: Path, celery_env: dict[str, str]) -> Iterator[CeleryWorkers]:
    pool = CeleryWorkers(tmp_path, celery_env)
    try:
        yield pool
    finally:
        pool.stop_all()
