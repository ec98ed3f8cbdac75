"""What operators ask of a running process: each projection's position, lag and state, and readiness.

Everything is read from the stores, so any process (the API, the CLI) sees what the projection
workers of another process recorded. Readiness has a hard time budget: each check runs on a
worker thread, and one that has not answered within ``READY_TIMEOUT_SECONDS`` is not ok.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any

from infrastructure.shared.leases import REBUILD_NAMESPACE, ActiveWorker, active_workers
from infrastructure.shared.platform import Platform
from infrastructure.shared.readstore import Failure, read_failures, read_positions
from infrastructure.shared.rebuild import RebuildJob, RebuildJobs

RUNNING = "running"
FAILED = "failed"


@dataclass(frozen=True)
class ProjectionState:
    name: str
    position: int
    head: int
    failure: Failure | None = None
    active: ActiveWorker | None = None  # the process holding its lease (PostgreSQL workers), where known
    rebuild: RebuildJob | None = None  # its last rebuild job

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)

    @property
    def state(self) -> str:
        """``failed`` while an event it could not apply stops it, else ``running``."""
        return FAILED if self.failure is not None else RUNNING


class Operations:
    """Projection positions and states, and readiness checks, read from the stores themselves."""

    # Checks that hang (a store that accepts connections but never answers) hold a worker each until
    # their own timeouts end them; a few workers bound what a burst of /ready calls can pile up.
    CHECK_WORKERS = 6

    def __init__(
        self,
        platform: Platform,
        followers: Sequence[str],
        redis: Callable[[], Any],
        rebuilds: RebuildJobs | None = None,
    ) -> None:
        self._platform = platform
        self._rebuilds = rebuilds
        self._followers = tuple(followers)
        self._redis = redis
        self._checks = ThreadPoolExecutor(max_workers=self.CHECK_WORKERS, thread_name_prefix="chronicle-ready")

    def head_position(self) -> int:
        return self._platform.head_position()

    def projections(self) -> list[ProjectionState]:
        """Every follower's state, with the process that runs it and its last rebuild job."""
        head = self.head_position()
        names = self._followers
        with self._platform.query_engine.connect() as conn:
            positions = read_positions(conn, names)
            failures = read_failures(conn, names)
            workers = active_workers(conn, names)
            jobs = self._rebuilds.read(conn, names) if self._rebuilds is not None else {}
            if conn.dialect.name == "postgresql":
                # A running job's process holds its rebuild lock; without one, that process died mid-rebuild.
                rebuilding = active_workers(conn, names, REBUILD_NAMESPACE)
                jobs = {
                    name: replace(job, state="interrupted")
                    if job.state == "running" and name not in rebuilding
                    else job
                    for name, job in jobs.items()
                }
        return [
            ProjectionState(name, positions[name], head, failures.get(name), workers.get(name), jobs.get(name))
            for name in names
        ]

    def _states(self, head: int) -> list[ProjectionState]:
        with self._platform.query_engine.connect() as conn:
            positions = read_positions(conn, self._followers)
            failures = read_failures(conn, self._followers)
        return [ProjectionState(name, positions[name], head, failures.get(name)) for name in self._followers]

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Event store, read store, Redis (when configured), projection lag and failures; never raises,
        and answers within the settings' ``ready_timeout_seconds``."""
        deadline = time.monotonic() + self._platform.settings.ready_timeout_seconds
        head = self._checks.submit(self.head_position)
        states = self._checks.submit(self._states, 0)
        client = self._redis()
        redis = self._checks.submit(client.ping) if client is not None else None

        checks: dict[str, Any] = {}
        head_ok, at = _outcome(head, deadline)
        checks["event_store"] = {"ok": True, "head": at} if head_ok else {"ok": False, "error": at}
        states_ok, found = _outcome(states, deadline)
        checks["read_store"] = {"ok": True} if states_ok else {"ok": False, "error": found}
        if redis is not None:
            redis_ok, pong = _outcome(redis, deadline)
            checks["redis"] = {"ok": bool(pong)} if redis_ok else {"ok": False, "error": pong}
        if head_ok and states_ok:
            checks["projections"] = self._projections_check(int(at), found)
        return all(check["ok"] for check in checks.values()), checks

    def _projections_check(self, head: int, states: list[ProjectionState]) -> dict[str, Any]:
        max_lag = self._platform.settings.ready_max_lag
        lags = {state.name: max(0, head - state.position) for state in states}
        failed = {
            state.name: {"position": state.failure.position, "error": state.failure.error}
            for state in states
            if state.failure is not None
        }
        check: dict[str, Any] = {
            "ok": not failed and all(lag <= max_lag for lag in lags.values()),
            "lag": lags,
            "max_lag": max_lag,
        }
        if failed:
            check["failed"] = failed
        return check


def _outcome(future: Future[Any], deadline: float) -> tuple[bool, Any]:
    """(True, the check's result) or (False, why not: ``timeout`` or the error's class), by ``deadline``."""
    try:
        return True, future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        future.cancel()  # not started yet: it never will be
        return False, "timeout"
    except Exception as error:
        return False, type(error).__name__
