"""From a command's answer to the query showing it, against LISTEN/NOTIFY delivery on the same server.

Folds in the earlier by-hand script (bench/read_your_writes.py): projections run in this process's
threads as `chronicle serve` runs them in-process, woken by LISTEN/NOTIFY; each command's position is
awaited with the query side's PositionBoard, then the account is read from the read model.
"""

from __future__ import annotations

import threading
import time

import psycopg

from bench.core import BENCH_PASSWORD, BenchConfig, Result, bench_settings, latency_note, percentile, wipe
from bench.scenarios.append import context
from domain.accounts.values import Profile
from infrastructure.root import Chronicle

GAP_SECONDS = 0.01
CHANNEL = "bench_baseline_notify"


def notify_latencies(database_url: str, count: int) -> list[float]:
    """Seconds from NOTIFY (committed) to the LISTEN connection receiving it, on the same server."""
    received: list[float] = []
    sent: list[float] = []
    ready = threading.Event()

    def listen() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            ready.set()
            for _ in conn.notifies(stop_after=count, timeout=30):
                received.append(time.perf_counter())

    listener = threading.Thread(target=listen)
    listener.start()
    ready.wait(10)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for n in range(count):
            sent.append(time.perf_counter())
            conn.execute(f"NOTIFY {CHANNEL}, '{n}'")
            time.sleep(GAP_SECONDS)
    listener.join(30)
    return [r - s for s, r in zip(sent, received, strict=True)]


def read_your_writes(config: BenchConfig) -> list[Result]:
    wipe(config.database_url)
    commands = config.scale(300, 30)
    container = Chronicle(bench_settings(config.database_url, projection_poll_seconds=1.0))
    container.start(run_projections=True)
    followers = len(container.runners)
    waits: list[float] = []
    try:
        ids = [
            container.accounts.register_account(
                context(), email=f"ryw-{i}@example.com", password=BENCH_PASSWORD, profile=Profile("Ada", "L")
            ).id
            for i in range(20)
        ]
        for run in range(config.runs):
            for n in range(commands):
                account_id = ids[n % len(ids)]
                result = container.accounts.update_profile(context(), account_id, Profile("Ada", f"R{run}-{n}"))
                began = time.perf_counter()
                if not container.board.wait("accounts", result.position, timeout=5.0):
                    raise RuntimeError(f"position {result.position} not reached within 5 s")
                row = container.account_queries.get(account_id)
                waits.append(time.perf_counter() - began)
                assert row is not None and row["version"] == result.version
                time.sleep(GAP_SECONDS)
        baseline = notify_latencies(config.database_url, commands * config.runs)
    finally:
        container.close()
    p99 = percentile(waits, 99) * 1000
    base99 = percentile(baseline, 99) * 1000
    return [
        Result(
            scenario="read-your-writes",
            figure="command answered → query shows it, p99 (ms)",
            value=p99,
            unit="ms",
            baseline=base99,
            baseline_label="NOTIFY sent → LISTEN received, same server, p99 (ms)",
            target="p99 ≤ 50 ms",
            met=p99 <= 50,
            higher_is_better=False,
            notes=[
                f"{len(waits)} commands (update_profile), {GAP_SECONDS * 1000:.0f} ms apart; every follower of the "
                f"process ({followers}) running in it, as `chronicle serve` runs them, woken by each save and by "
                "LISTEN/NOTIFY; wait = PositionBoard.wait + AccountsQueries.get",
                latency_note("Chronicle", waits),
                latency_note("NOTIFY→LISTEN", baseline),
            ],
        )
    ]
