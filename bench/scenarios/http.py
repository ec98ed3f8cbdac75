"""A create command over HTTP (POST /api/v1/work-orders, no password hashing) against a minimal FastAPI
INSERT endpoint, with 1 worker process and with one per core, each against the baseline at the same count.

Both apps run under uvicorn (the same options and worker count) in subprocesses on loopback; a small
asyncio HTTP/1.1 client in this process keeps N keep-alive connections busy, each logged in as its own
manager and creating orders with numbers of its own, so no two commands race for one order number.
With several workers Chronicle runs as ``chronicle serve --workers`` does (metrics shared through a
PROMETHEUS_MULTIPROC_DIR), and each process of either app gets an equal share of the one-worker pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg

from bench.core import (
    BENCH_PASSWORD as PASSWORD,
)
from bench.core import (
    BenchConfig,
    Result,
    bench_settings,
    create_baseline_events_table,
    latency_note,
    median,
    wipe,
)
from bench.http_apps import BASELINE_TABLE
from bench.proc import CpuMeter
from bench.scenarios.append import context
from domain.accounts.values import Profile
from infrastructure.root import Chronicle

PATH = "/api/v1/work-orders"


def order(number: str) -> bytes:
    return json.dumps(
        {
            "order_number": number,
            "client": "Acme Steel",
            "description": "Weld the frame",
            "machine": "MIG-1",
            "due_date": "2030-01-31",
            "priority": "normal",
        }
    ).encode()


UVICORN_OPTIONS = ["--no-access-log", "--log-level", "warning", "--factory"]
# Connections of the one-worker setup (Chronicle's event store; the baseline's pool), shared out among the workers.
CHRONICLE_POOL, CHRONICLE_OVERFLOW = 20, 10
BASELINE_POOL, BASELINE_MAX = 20, 30


def worker_counts() -> tuple[int, ...]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return (1, max(2, cores))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(factory: str, database_url: str, log: Path, workers: int, env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """Serve ``factory`` with uvicorn: its port, and the process id of uvicorn (its workers are below it)."""
    port = free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, **env}
    command = [sys.executable, "-m", "uvicorn", factory, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [*command, "--workers", str(workers), *UVICORN_OPTIONS], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{factory} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def chronicle_env(workers: int, metrics_dir: Path) -> dict[str, str]:
    env = {
        "POSTGRES_POOL_SIZE": str(max(2, CHRONICLE_POOL // workers)),
        "POSTGRES_MAX_OVERFLOW": str(CHRONICLE_OVERFLOW // workers),
    }
    if workers > 1:  # as `chronicle serve --workers` runs them: every worker records into the shared directory
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for old in metrics_dir.glob("*.db"):
            old.unlink()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return env


def baseline_env(workers: int) -> dict[str, str]:
    return {
        "BENCH_BASELINE_POOL_MIN": str(max(2, BASELINE_POOL // workers)),
        "BENCH_BASELINE_POOL_MAX": str(max(3, BASELINE_MAX // workers)),
    }


@contextlib.contextmanager
def project(database_url: str, log: Path, extra: dict[str, str]) -> Iterator[int]:
    """A projection worker process for the whole scenario, as beside any deployed API."""
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, **extra}
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bench.http_apps"], env=env, stdout=out, stderr=out)
    try:
        yield worker.pid
    finally:
        worker.terminate()
        worker.wait(timeout=15)


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, path: str, body: bytes, token: str
) -> tuple[int, bytes]:
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{authorization}Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status_line.split()[1]), await reader.readexactly(length)


async def drive(port: int, tokens: list[str], seconds: float) -> tuple[int, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    run = uuid4().hex[:8]

    async def connection(index: int, token: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = 0
        try:
            while time.perf_counter() < deadline:
                sent += 1
                began = time.perf_counter()
                status, _ = await _request(reader, writer, "POST", PATH, order(f"H-{run}-{index}-{sent}"), token)
                latencies.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection(i, t) for i, t in enumerate(tokens)))
    elapsed = time.perf_counter() - began
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return int(ok / elapsed), latencies, statuses


async def login(port: int, email: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = json.dumps({"email": email, "password": PASSWORD}).encode()
        status, answer = await _request(reader, writer, "POST", "/api/v1/auth/login", body, "")
        if status != 200:
            raise RuntimeError(f"login of {email} answered {status}: {answer!r}")
        return str(json.loads(answer)["access_token"])
    finally:
        writer.close()


# The projection worker's pool: it only reads and folds.
PROJECTOR_ENV = {"POSTGRES_POOL_SIZE": "4", "POSTGRES_MAX_OVERFLOW": "2"}


def seed_managers(database_url: str, connections: int) -> list[str]:
    """One manager per connection, registered and folded into the accounts read model (which authorizes
    bearer tokens): their emails."""
    emails = [f"http-{i}@example.com" for i in range(connections)]
    container = Chronicle(bench_settings(database_url))
    container.open()
    try:
        for email in emails:
            container.accounts.register_account(
                context(), email=email, password=PASSWORD, profile=Profile("Ada", "L"), roles=["manager"]
            )
        container.runners["accounts"].catch_up()
    finally:
        container.close()
    return emails


def http_commands(config: BenchConfig) -> list[Result]:
    wipe(config.database_url)
    connections = config.scale(32, 8)
    seconds = config.scale(8, 2)
    logs = Path(bench_settings(config.database_url).data_dir)
    emails = seed_managers(config.database_url, connections)
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        create_baseline_events_table(conn, "http")
    results: list[Result] = []
    with project(config.database_url, logs / "projector.log", PROJECTOR_ENV) as projector:
        tokens: list[str] = []
        for workers in worker_counts():
            results.append(_measure(config, workers, emails, tokens, logs, connections, seconds, projector))
    assert BASELINE_TABLE.startswith("bench_baseline_")
    return results


def cpu_note(chronicle: CpuMeter, chronicle_served: int, baseline: CpuMeter, baseline_served: int) -> str:
    """The bound note: CPU a request of each side's server, of the projection worker and of the database."""

    def ms(seconds: float, served: int) -> str:
        return f"{seconds / max(1, served) * 1000:.2f} ms"

    return (
        "bound, CPU an answered request over the same runs (/proc/<pid>/stat): "
        f"Chronicle's server (uvicorn and its workers) {ms(chronicle.server_seconds, chronicle_served)}, "
        f"its projection worker {ms(chronicle.beside_seconds, chronicle_served)} (folding the orders into the "
        f"read models), PostgreSQL {ms(chronicle.database_seconds, chronicle_served)} (every backend of the "
        f"scratch database); the baseline's server {ms(baseline.server_seconds, baseline_served)}, "
        f"PostgreSQL {ms(baseline.database_seconds, baseline_served)}"
    )


def _measure(
    config: BenchConfig,
    workers: int,
    emails: list[str],
    tokens: list[str],
    logs: Path,
    connections: int,
    seconds: int,
    projector: int,
) -> Result:
    chronicle: list[int] = []
    baseline: list[int] = []
    chronicle_latency: list[float] = []
    baseline_latency: list[float] = []
    failures: dict[int, int] = {}
    url = config.database_url
    database = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
    pools, base_pool = chronicle_env(workers, logs / "metrics"), baseline_env(workers)
    with (
        serve(
            "bench.http_apps:chronicle",
            url,
            logs / f"chronicle-{workers}.log",
            workers,
            chronicle_env(workers, logs / "metrics"),
        ) as (chronicle_port, chronicle_pid),
        serve("bench.http_apps:baseline", url, logs / f"baseline-{workers}.log", workers, baseline_env(workers)) as (
            baseline_port,
            baseline_pid,
        ),
    ):
        if not tokens:  # the tokens stay valid for every server of the run (same secret, same log)
            tokens += [asyncio.run(login(chronicle_port, email)) for email in emails]
        asyncio.run(drive(chronicle_port, tokens, 1.0))  # warm both
        asyncio.run(drive(baseline_port, tokens, 1.0))
        # What bounds the figure on two shared cores: the CPU each side spends a request, over the same runs.
        chronicle_cpu, baseline_cpu = (
            CpuMeter(chronicle_pid, projector, str(database)),
            CpuMeter(baseline_pid, projector, str(database)),
        )
        served = {"chronicle": 0, "baseline": 0}
        for _ in range(config.runs):
            baseline_cpu.start()
            rate, latencies, statuses = asyncio.run(drive(baseline_port, tokens, seconds))
            baseline_cpu.stop()
            served["baseline"] += sum(statuses.values())
            baseline.append(rate)
            baseline_latency += latencies
            chronicle_cpu.start()
            rate, latencies, statuses = asyncio.run(drive(chronicle_port, tokens, seconds))
            chronicle_cpu.stop()
            served["chronicle"] += sum(statuses.values())
            chronicle.append(rate)
            chronicle_latency += latencies
            for status, n in statuses.items():
                if not 200 <= status < 300:
                    failures[status] = failures.get(status, 0) + n
    value, base = median(chronicle), median(baseline)
    processes = f"{workers} worker process{'es' if workers > 1 else ''}"
    return Result(
        scenario="http",
        figure=f"POST /api/v1/work-orders over HTTP, {connections} connections, {processes} (req/s)",
        value=value,
        unit="req/s",
        baseline=base,
        baseline_label=f"minimal FastAPI endpoint doing one INSERT, same uvicorn options, {processes} (req/s)",
        target="≥ 0.5 x baseline",
        met=value >= 0.5 * base,
        notes=[
            "work-order create: authorize the bearer token (read model), check the order number is free "
            "(one query), save the order and its number claim (two events) in one transaction; a projection "
            "worker process runs beside the server (authorization follows the accounts read model)",
            f"uvicorn --workers {workers} {' '.join(UVICORN_OPTIONS)}; per process: Chronicle's event store "
            f"{pools['POSTGRES_POOL_SIZE']} + {pools['POSTGRES_MAX_OVERFLOW']} connections, the baseline's pool "
            f"{base_pool['BENCH_BASELINE_POOL_MIN']} to {base_pool['BENCH_BASELINE_POOL_MAX']}"
            + ("; Chronicle's metrics shared through PROMETHEUS_MULTIPROC_DIR" if workers > 1 else ""),
            "load generator: asyncio HTTP/1.1 keep-alive client in the bench process, on the same cores as the "
            "servers and PostgreSQL",
            f"{seconds} s per run; Chronicle runs: {', '.join(map(str, chronicle))}; "
            f"baseline runs: {', '.join(map(str, baseline))}",
            latency_note("Chronicle latency", chronicle_latency),
            latency_note("baseline latency", baseline_latency),
            f"non-2xx answers from Chronicle: {failures or 'none'}",
            cpu_note(chronicle_cpu, served["chronicle"], baseline_cpu, served["baseline"]),
        ],
    )
