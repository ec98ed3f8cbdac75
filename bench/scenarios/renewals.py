"""The renewal job over N due subscriptions: real Celery workers drain one sweep, every subscription renewed once.

Set-up (not timed): a monthly plan and N subscriptions started 35 days ago with the offline gateway's
``pm_ok`` (so each one's renewal is due now), and the subscriptions read model caught up. Timed: from
sending one ``chronicle.jobs.sweep("subscriptions")`` to the moment the log holds N ``Renewed`` events,
with ``WORKERS`` worker processes (``celery -A interfaces.worker worker --pool=solo``) on Redis. Then
checked: exactly one ``Renewed`` per subscription, and exactly one renewal charge per subscription in the
gateway's table, each asked for once.

The broker is ``BENCH_CELERY_BROKER_URL`` (default Redis db 10) on a queue of the run's own, deleted after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import redis

from application.shared.commands import CommandContext
from bench.core import BENCH_JWT_SECRET, BENCH_PII_MASTER_KEY, BenchConfig, Result, bench_settings, wipe
from infrastructure.root import Chronicle
from infrastructure.shared.jobs import SWEEP_TASK
from infrastructure.shared.settings import Settings
from interfaces.worker import create_celery

BROKER_URL = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/10")
WORKERS = 2
SUBSCRIBERS = 4  # threads starting the subscriptions (set-up)
RENEWED_TOPIC = "domain.subscriptions.subscription:Subscription.Renewed"
ROOT = Path(__file__).parents[2]


def renewals(config: BenchConfig) -> list[Result]:
    count = config.scale(10_000, 50)
    wipe(config.database_url)
    queue = f"bench-renewals-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": config.database_url,
        "JWT_SECRET": BENCH_JWT_SECRET,
        "PII_MASTER_KEY": BENCH_PII_MASTER_KEY,
        "SUPERADMIN_EMAIL": "",
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_QUEUE": queue,
        "BILLING_SWEEP_LIMIT": str(count),
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "1",
        "READ_POOL_SIZE": "2",
    }
    real_now = datetime.now(UTC)
    started_at = real_now - timedelta(days=35)
    # Small pools: the bench shares PostgreSQL's connections with whatever else runs on the machine.
    settings = bench_settings(
        config.database_url, postgres_pool_size=SUBSCRIBERS, postgres_max_overflow=0, read_pool_size=2
    )
    container = Chronicle(settings, clock=lambda: started_at)
    container.open()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        subscribe_all(container, started_at, count)
        container.runners["subscriptions"].catch_up()
        sender = create_celery(Settings(**{name.lower(): value for name, value in env.items()}))  # type: ignore[arg-type]
        logs = Path(tempfile.mkdtemp(prefix="chronicle-bench-workers-"))
        workers = [start_worker(env, logs / f"worker-{n}.log") for n in range(WORKERS)]
        wait_ready(sender, [f"bench-{n}-{queue}@%h" for n in range(WORKERS)], workers)

        began = time.perf_counter()
        sender.send_task(SWEEP_TASK, args=["subscriptions"])
        renewed = wait_renewed(config.database_url, count, workers, timeout=max(600.0, count * 0.2))
        wall = time.perf_counter() - began
        exact, charges = check_exactly_once(config.database_url, count)
    finally:
        for process in workers:
            stop(process)
        container.close()
        redis.Redis.from_url(BROKER_URL).delete(queue)
    rate = renewed / wall
    return [
        Result(
            scenario="renewals",
            figure=f"renew {count:,} due subscriptions through Celery, {WORKERS} workers (s)",
            value=wall,
            unit="s",
            baseline=None,
            baseline_label="—",
            target="every one renewed exactly once",
            met=exact,
            higher_is_better=False,
            notes=[
                f"{rate:.0f} renewals/s: one sweep, then one task per subscription (load, charge, save)",
                f"{renewed:,} Renewed events for {count:,} subscriptions; {charges}",
            ],
        )
    ]


def subscribe_all(container: Chronicle, at: datetime, count: int) -> None:
    ctx = CommandContext(actor="bench", correlation_id="bench", causation_id="bench", now=at)
    app = container.subscriptions
    app.create_plan(ctx, code="pro", name="Pro", price=Decimal("20.00"), currency="EUR", interval="month")

    def subscribe(n: int) -> None:
        app.subscribe(ctx, uuid.uuid5(uuid.NAMESPACE_URL, f"bench-account-{n}"), "pro", payment_method="pm_ok")

    with ThreadPoolExecutor(max_workers=SUBSCRIBERS) as pool:
        list(pool.map(subscribe, range(count)))


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    node = f"bench-{log.stem.rpartition('-')[2]}-{env['CELERY_QUEUE']}@%h"
    command = [sys.executable, "-m", "celery", "-A", "interfaces.worker", "worker", "--pool=solo", "-n", node]
    command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING"]
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(sender: Any, nodes: list[str], workers: list[subprocess.Popen[bytes]], timeout: float = 120) -> None:
    import socket

    wanted = {node.replace("%h", socket.gethostname()) for node in nodes}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in workers):
            raise RuntimeError("a bench worker exited before it was ready")
        answered = {name for reply in sender.control.ping(destination=list(wanted), timeout=1.0) for name in reply}
        if answered >= wanted:
            return
    raise RuntimeError(f"bench workers not ready within {timeout} s")


def renewed_events(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM chronicle_events WHERE topic = %s", (RENEWED_TOPIC,)).fetchone()
    return int(row[0]) if row else 0


def wait_renewed(database_url: str, count: int, workers: list[subprocess.Popen[bytes]], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            renewed = renewed_events(conn)
            if renewed >= count:
                return renewed
            if all(process.poll() is not None for process in workers):
                raise RuntimeError("every bench worker exited")
            time.sleep(0.1)
        raise RuntimeError(f"only {renewed_events(conn)} of {count} renewed within {timeout:.0f} s")


def check_exactly_once(database_url: str, count: int) -> tuple[bool, str]:
    """One Renewed per subscription; per account two charges (the first payment, the renewal), each asked once."""
    with psycopg.connect(database_url) as conn:
        renewed = conn.execute(
            "SELECT count(DISTINCT originator_id), count(*) FROM chronicle_events WHERE topic = %s", (RENEWED_TOPIC,)
        ).fetchone()
        charges = conn.execute(
            "SELECT count(*), count(DISTINCT account_id), max(requests), "
            "(SELECT count(*) FROM (SELECT account_id FROM gateway_offline_charges GROUP BY account_id "
            " HAVING count(*) <> 2) AS odd) FROM gateway_offline_charges"
        ).fetchone()
    assert renewed is not None and charges is not None
    rows, accounts, max_requests, odd = charges
    exact = tuple(renewed) == (count, count) and (rows, accounts, max_requests, odd) == (2 * count, count, 1, 0)
    return exact, (
        f"gateway: {rows:,} charges for {accounts:,} accounts (2 each: first payment + renewal), "
        f"{odd} accounts with another count, each attempt asked at most {max_requests}x"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
