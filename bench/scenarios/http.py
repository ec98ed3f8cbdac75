"""A create command over HTTP (POST /api/v1/work-orders, no password hashing) against a minimal FastAPI
INSERT endpoint.

Both apps run under uvicorn (one worker, the same options) in subprocesses on loopback; a small asyncio
HTTP/1.1 client in this process keeps N keep-alive connections busy, each logged in as its own manager
and creating orders with numbers of its own, so no two commands race for one order number.
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


UVICORN_OPTIONS = ["--workers", "1", "--no-access-log", "--log-level", "warning", "--factory"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(factory: str, database_url: str, log: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": database_url}
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [sys.executable, "-m", "uvicorn", factory, "--host", "127.0.0.1", "--port", str(port), *UVICORN_OPTIONS],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{factory} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=15)


@contextlib.contextmanager
def project(database_url: str, log: Path) -> Iterator[None]:
    """A projection worker process for the whole scenario, as beside any deployed API."""
    env = {**os.environ, "BENCH_DATABASE_URL": database_url}
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bench.http_apps"], env=env, stdout=out, stderr=out)
    try:
        yield
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


async def _drive(port: int, tokens: list[str], seconds: float) -> tuple[int, list[float], dict[int, int]]:
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


async def _login(port: int, email: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = json.dumps({"email": email, "password": PASSWORD}).encode()
        status, answer = await _request(reader, writer, "POST", "/api/v1/auth/login", body, "")
        if status != 200:
            raise RuntimeError(f"login of {email} answered {status}: {answer!r}")
        return str(json.loads(answer)["access_token"])
    finally:
        writer.close()


def http_commands(config: BenchConfig) -> list[Result]:
    wipe(config.database_url)
    connections = config.scale(32, 8)
    seconds = config.scale(8, 2)
    logs = Path(bench_settings(config.database_url).data_dir)
    container = Chronicle(bench_settings(config.database_url))
    container.open()
    try:
        emails = [f"http-{i}@example.com" for i in range(connections)]
        for email in emails:
            container.accounts.register_account(
                context(), email=email, password=PASSWORD, profile=Profile("Ada", "L"), roles=["manager"]
            )
        container.runners["accounts"].catch_up()  # the read model authorizes bearer tokens
        with psycopg.connect(config.database_url, autocommit=True) as conn:
            create_baseline_events_table(conn, "http")
    finally:
        container.close()
    chronicle: list[int] = []
    baseline: list[int] = []
    chronicle_latency: list[float] = []
    baseline_latency: list[float] = []
    failures: dict[int, int] = {}
    with (
        project(config.database_url, logs / "projector.log"),
        serve("bench.http_apps:chronicle", config.database_url, logs / "chronicle.log") as chronicle_port,
        serve("bench.http_apps:baseline", config.database_url, logs / "baseline.log") as baseline_port,
    ):
        tokens = [asyncio.run(_login(chronicle_port, email)) for email in emails]
        asyncio.run(_drive(chronicle_port, tokens, 1.0))  # warm both
        asyncio.run(_drive(baseline_port, tokens, 1.0))
        for _ in range(config.runs):
            rate, latencies, statuses = asyncio.run(_drive(baseline_port, tokens, seconds))
            baseline.append(rate)
            baseline_latency += latencies
            rate, latencies, statuses = asyncio.run(_drive(chronicle_port, tokens, seconds))
            chronicle.append(rate)
            chronicle_latency += latencies
            for status, n in statuses.items():
                if not 200 <= status < 300:
                    failures[status] = failures.get(status, 0) + n
    assert BASELINE_TABLE.startswith("bench_baseline_")
    value, base = median(chronicle), median(baseline)
    return [
        Result(
            scenario="http",
            figure=f"POST /api/v1/work-orders over HTTP, {connections} connections (req/s)",
            value=value,
            unit="req/s",
            baseline=base,
            baseline_label="minimal FastAPI endpoint doing one INSERT, same uvicorn options (req/s)",
            target="≥ 0.5 x baseline",
            met=value >= 0.5 * base,
            notes=[
                "work-order create: authorize the bearer token (read model), check the order number is free "
                "(one query), save the order and its number claim (two events) in one transaction; a projection "
                "worker process runs beside the server (authorization follows the accounts read model)",
                f"uvicorn {' '.join(UVICORN_OPTIONS)}; load generator: asyncio HTTP/1.1 keep-alive client in the "
                "bench process, on the same 2 cores as the server and PostgreSQL",
                f"{seconds} s per run; Chronicle runs: {', '.join(map(str, chronicle))}; "
                f"baseline runs: {', '.join(map(str, baseline))}",
                latency_note("Chronicle latency", chronicle_latency),
                latency_note("baseline latency", baseline_latency),
                f"non-2xx answers from Chronicle: {failures or 'none'}",
            ],
        )
    ]
