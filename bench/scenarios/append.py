"""Appending through the application layer (one event per command) against raw single-row INSERT + commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg

from application.base import CommandContext, recording_metadata
from bench.core import (
    BENCH_PASSWORD,
    BenchConfig,
    Result,
    bench_settings,
    create_baseline_events_table,
    latency_note,
    median,
    wipe,
)
from domain.account import Account, Profile
from infrastructure.container import Container

ACCOUNTS_PER_WRITER = 8


def run_writers(writers: int, per_writer: int, command: Callable[[int, int], None]) -> tuple[float, list[float]]:
    """``writers`` threads each run ``command(writer, n)`` ``per_writer`` times; answers wall time and latencies."""
    latencies: list[list[float]] = [[] for _ in range(writers)]
    start = threading.Barrier(writers + 1)

    def work(writer: int) -> None:
        start.wait()
        for n in range(per_writer):
            began = time.perf_counter()
            command(writer, n)
            latencies[writer].append(time.perf_counter() - began)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, [x for per in latencies for x in per]


def context() -> CommandContext:
    correlation = str(uuid4())
    return CommandContext(actor="bench", correlation_id=correlation, causation_id=correlation, now=datetime.now(UTC))


def profile_payload(container: Container, account_id: UUID) -> tuple[str, bytes]:
    """The stored topic and state of one ProfileUpdated event, as the application encodes it."""
    account = container.accounts.load(account_id, Account)
    account.update_profile(profile=Profile("Ada", "Payload"), now=datetime.now(UTC))
    with recording_metadata(context()):
        stored = container.accounts.mapper.to_stored_event(account.collect_events()[-1])
    return stored.topic, stored.state


def scenario(writers: int) -> Callable[[BenchConfig], list[Result]]:
    def run(config: BenchConfig) -> list[Result]:
        wipe(config.database_url)
        per_writer = config.scale(2000, 100) // writers
        container = Container(bench_settings(config.database_url))
        try:
            pool = [
                container.accounts.register(
                    context(), email=f"writer-{i}@example.com", password=BENCH_PASSWORD, profile=Profile("Ada", "L")
                ).id
                for i in range(writers * ACCOUNTS_PER_WRITER)
            ]
            topic, state = profile_payload(container, pool[0])
            with psycopg.connect(config.database_url, autocommit=True) as conn:
                table = create_baseline_events_table(conn, "append")
            insert = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)"  # noqa: S608
            connections = [psycopg.connect(config.database_url, autocommit=True) for _ in range(writers)]
            try:

                def raw(writer: int, n: int) -> None:
                    connections[writer].execute(insert, (uuid4(), topic, state), prepare=True)

                def command(writer: int, n: int) -> None:
                    account_id = pool[writer + writers * (n % ACCOUNTS_PER_WRITER)]
                    container.accounts.update_profile(context(), account_id, Profile("Ada", f"Run{n}"))

                run_writers(writers, max(1, per_writer // 10), command)  # warm pools and caches
                run_writers(writers, max(1, per_writer // 10), raw)
                chronicle, baseline, latencies = [], [], []
                for _ in range(config.runs):
                    elapsed, _ = run_writers(writers, per_writer, raw)
                    baseline.append(writers * per_writer / elapsed)
                    elapsed, lat = run_writers(writers, per_writer, command)
                    chronicle.append(writers * per_writer / elapsed)
                    latencies.extend(lat)
            finally:
                for conn in connections:
                    conn.close()
        finally:
            container.close()
        ratio_target = 0.5 if writers == 1 else 1.0
        value, base = median(chronicle), median(baseline)
        return [
            Result(
                scenario=f"append-{writers}",
                figure=f"append, {writers} writer{'s' if writers > 1 else ''} (commands/s)",
                value=value,
                unit="commands/s",
                baseline=base,
                baseline_label=f"raw INSERT + commit, {writers} connection{'s' if writers > 1 else ''} (rows/s)",
                target=f"≥ {ratio_target:g} x baseline",
                met=value >= ratio_target * base,
                notes=[
                    f"{writers * per_writer} commands per run (update_profile: load, decide, save one event)",
                    "Chronicle runs: " + ", ".join(f"{x:.0f}" for x in chronicle),
                    "baseline runs: " + ", ".join(f"{x:.0f}" for x in baseline),
                    latency_note("command latency", latencies),
                ],
            )
        ]

    return run


append_1 = scenario(1)
append_16 = scenario(16)
