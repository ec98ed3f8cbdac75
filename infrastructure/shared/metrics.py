"""Prometheus metrics of a Chronicle process: the collectors every part of it records into, and ``/metrics``.

Every collector is defined here, once, so that any part of Chronicle (the HTTP edge, the recorder, the
projection runners, background jobs) records by calling it, and the names and labels stay in one list:

- HTTP: requests by method, route *template* (``/api/v1/work-orders/{order_id}``, never the raw path:
  the label set stays bounded whatever clients send) and status; latency by method and route.
- commands: by command (method and route template) and outcome (accepted, conflict, refused, failed).
- the log: append latency per save, and how many saves each group-commit transaction carried.
- projections: batch latency, entries folded and failed batches in the process that runs them; position,
  lag and failed state read from the store itself when scraped (the same answer from any process).
- database pools: connections in use, idle, at most, and waiting requests, of the event store's psycopg
  pool and the read store's SQLAlchemy pools, sampled each second in every process.
- jobs: ``job_started``/``job_finished`` (or ``track_job``) for whoever runs background jobs.

Several uvicorn workers: ``chronicle serve --workers N`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty
directory before the workers start; each worker then writes its values to files there and a scrape, served
by any worker, sums the counters and histograms of all of them (the dead ones included: a count does not
go back down) and the gauges of the live ones only (the supervisor marks a dead worker's gauges gone).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from infrastructure.shared.settings import Settings

if TYPE_CHECKING:
    from infrastructure.shared.platform import Platform

log = logging.getLogger("chronicle.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED_ROUTE = "unmatched"  # no route answered (404, or a middleware refused before routing)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "chronicle_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "chronicle_http_request_duration_seconds",
    "Time from a request's arrival to its answer's end, by method and route template",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
COMMANDS = Counter(
    "chronicle_commands",
    "Commands by command (method and route template) and outcome: accepted, conflict (a lost write race or a "
    "stale If-Match), refused (any other 4xx) or failed (5xx)",
    ["command", "outcome"],
)
APPEND_LATENCY = Histogram(
    "chronicle_append_duration_seconds",
    "Time a save waits until its events are committed to the log (waiting for its group included)",
    buckets=_LATENCY_BUCKETS,
)
APPEND_GROUP_SIZE = Histogram(
    "chronicle_append_group_size",
    "Saves committed together by one group-commit insert transaction",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128),
)
PROJECTION_BATCH_LATENCY = Histogram(
    "chronicle_projection_batch_duration_seconds",
    "Time a projection batch takes (read, fold, write, commit), in the process that runs the projection",
    ["projection"],
    buckets=_LATENCY_BUCKETS,
)
PROJECTION_ENTRIES = Counter(
    "chronicle_projection_entries", "Log entries a projection consumed, in the process that runs it", ["projection"]
)
PROJECTION_FAILURES = Counter(
    "chronicle_projection_failures",
    "Projection batches that could not be applied (an outage of a store is not counted)",
    ["projection"],
)
POOL_CONNECTIONS = Gauge(
    "chronicle_db_pool_connections",
    "Database pool connections by pool and state (in_use, idle, max; waiting: requests waiting for one), summed "
    "over the live processes",
    ["pool", "state"],
    multiprocess_mode="livesum",
)
JOBS = Counter("chronicle_jobs", "Background jobs finished, by job and outcome", ["job", "outcome"])
JOBS_RUNNING = Gauge("chronicle_jobs_running", "Background jobs running now", ["job"], multiprocess_mode="livesum")
JOB_LATENCY = Histogram(
    "chronicle_job_duration_seconds", "Time a background job ran", ["job"], buckets=(*_LATENCY_BUCKETS, 30, 60, 300)
)

# Methods counted by name; any other (a client may send any token) is counted as ``other``: bounded labels.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Outcomes of a command answered with these problem codes are conflicts (the rest of the 4xx: refused).
CONFLICT_CODES = frozenset({"concurrency_conflict", "version_mismatch"})


# --- recording --------------------------------------------------------------------------------------


class RequestRecorder:
    """Records one answered request (and, for a command, its outcome) with the label children cached:
    a request costs two dictionary look-ups instead of the client library's label validation."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}
        self._commands: dict[tuple[str, str], Any] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in HTTP_METHODS else "other"  # a client may send any token as its method
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._counts[(method, route, status)] = HTTP_REQUESTS.labels(method, route, str(status))
        count.inc()
        latency = self._latencies.get((method, route))
        if latency is None:
            latency = self._latencies[(method, route)] = HTTP_LATENCY.labels(method, route)
        latency.observe(seconds)

    def command(self, method: str, route: str, status: int, problem_code: str | None) -> None:
        method = method if method in HTTP_METHODS else "other"
        outcome = command_outcome(status, problem_code)
        key = (f"{method} {route}", outcome)
        count = self._commands.get(key)
        if count is None:
            count = self._commands[key] = COMMANDS.labels(*key)
        count.inc()


def command_outcome(status: int, problem_code: str | None) -> str:
    if status < 400:
        return "accepted"
    if problem_code in CONFLICT_CODES:
        return "conflict"
    return "refused" if status < 500 else "failed"


def job_started(job: str) -> float:
    """A background job starts (``job`` is its kind, e.g. ``projection_rebuild``): answers its start time."""
    JOBS_RUNNING.labels(job).inc()
    return time.perf_counter()


def job_finished(job: str, outcome: str, started: float) -> None:
    """The job started at ``started`` (``job_started``) ended with ``outcome`` (``succeeded``, ``failed``, ...)."""
    JOBS_RUNNING.labels(job).dec()
    JOBS.labels(job, outcome).inc()
    JOB_LATENCY.labels(job).observe(time.perf_counter() - started)


@contextlib.contextmanager
def track_job(job: str) -> Iterator[None]:
    """Counts the block as one run of ``job``: ``succeeded`` when it returns, ``failed`` when it raises."""
    started = job_started(job)
    outcome = "failed"
    try:
        yield
        outcome = "succeeded"
    finally:
        job_finished(job, outcome, started)


# --- database pools ---------------------------------------------------------------------------------

PoolReading = dict[str, float]


def psycopg_pool_reading(pool: Any) -> PoolReading:
    """A psycopg_pool ``ConnectionPool``: in use, idle, at most, and requests waiting for a connection."""
    stats = pool.get_stats()
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {"in_use": size - idle, "idle": idle, "max": pool.max_size, "waiting": stats.get("requests_waiting", 0)}


def sqlalchemy_pool_reading(pool: Any) -> PoolReading:
    """A SQLAlchemy ``QueuePool`` (the read store's): in use, idle and at most (other pool kinds: in use only)."""
    reading: PoolReading = {"in_use": pool.checkedout()} if hasattr(pool, "checkedout") else {}
    if hasattr(pool, "checkedin"):
        reading["idle"] = pool.checkedin()
    if hasattr(pool, "size") and hasattr(pool, "_max_overflow"):
        reading["max"] = pool.size() + max(0, pool._max_overflow)
    return reading


def pool_sources(platform: Platform) -> dict[str, Callable[[], PoolReading]]:
    """The pools of a process: the event store's (PostgreSQL only) and the read store's two engines."""
    sources: dict[str, Callable[[], PoolReading]] = {}
    pool = getattr(getattr(platform.log.recorder, "datastore", None), "pool", None)
    if pool is not None and hasattr(pool, "get_stats"):
        sources["event_store"] = lambda: psycopg_pool_reading(pool)
    sources["read_store"] = lambda: sqlalchemy_pool_reading(platform.read_engine.pool)
    sources["projection_writes"] = lambda: sqlalchemy_pool_reading(platform.write_engine.pool)
    return sources


class PoolSampler:
    """Samples the process's database pools into ``chronicle_db_pool_connections`` every ``seconds``.

    ``sources`` maps a pool's name to a function reading it; a pool that cannot be read is skipped
    (its last value stays) and the others are still sampled.
    """

    def __init__(self, sources: dict[str, Callable[[], PoolReading]], seconds: float = 1.0) -> None:
        self.sources = sources
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chronicle-pool-metrics", daemon=True)

    def sample(self) -> None:
        for name, read in self.sources.items():
            try:
                reading = read()
            except Exception as error:  # a closed pool, a driver's surprise: never fail the process for a metric
                log.debug("pool %s not sampled (%s)", name, type(error).__name__)
                continue
            for state, value in reading.items():
                POOL_CONNECTIONS.labels(name, state).set(value)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            self.sample()


# --- what the store says, read when scraped -------------------------------------------------------


class ProjectionStates:
    """Each projection's position, lag and failed state, and the log's head, read from the stores at scrape
    time (any worker answers the same; the projections may run in another process altogether).

    ``read`` answers ``(head, [(name, position, failed), ...])``; if it fails, ``chronicle_store_up`` is 0.
    """

    def __init__(self, read: Callable[[], tuple[int, list[tuple[str, int, bool]]]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("chronicle_store_up", "Whether this scrape could read the projections' state")
        try:
            head, states = self._read()
        except Exception as error:
            log.warning("metrics could not read the projections' state (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        head_family = GaugeMetricFamily("chronicle_log_head_position", "The position of the log's last event")
        head_family.add_metric([], head)
        yield head_family
        position = GaugeMetricFamily("chronicle_projection_position", "Last log position folded", labels=["projection"])
        lag = GaugeMetricFamily("chronicle_projection_lag", "Log entries not folded yet", labels=["projection"])
        failed = GaugeMetricFamily(
            "chronicle_projection_failed",
            "1 while the projection is stopped at an event it cannot apply",
            labels=["projection"],
        )
        for name, at, is_failed in states:
            position.add_metric([name], at)
            lag.add_metric([name], max(0, head - at))
            failed.add_metric([name], 1 if is_failed else 0)
        yield from (position, lag, failed)


# --- who may read them -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read ``/metrics``: an address in ``networks`` (METRICS_ALLOW_IPS), or whoever sends ``token``."""

    networks: tuple[IPv4Network | IPv6Network, ...]
    token: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsAccess:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None
        return cls(settings.metrics_networks(), token)

    def allows(self, address: str | None, bearer: str | None) -> bool:
        if self.token is not None and bearer is not None and hmac.compare_digest(bearer.encode(), self.token.encode()):
            return True
        try:
            client = ip_address(address or "")
        except ValueError:
            return False
        return any(client in network for network in self.networks)


# --- exposition -------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(*scraped: Any) -> bytes:
    """The text format of every metric: this process's (or, with several workers, all workers' summed),
    then the ``scraped`` collectors', which read their values now."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if scraped:
        extra = CollectorRegistry(auto_describe=False)
        for collector in scraped:
            extra.register(collector)
        body += generate_latest(extra)
    return body


def prepare_multiprocess_dir(path: Path) -> None:
    """Make ``path`` the empty directory the workers about to start share (values of an earlier run are removed)."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)


def worker_gone(pid: int) -> None:
    """A worker process ended: its live gauges (pool use, running jobs) no longer count."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
