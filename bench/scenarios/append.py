"""Appending through the application layer (one event per command) against raw single-row INSERT + commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
from eventsourcing.postgres import PostgresAggregateRecorder

from application.shared.commands import CommandContext
from application.shared.metadata import recording_metadata
from bench.backlog import EVENTS_PER_ACCOUNT, account_id, load_backlog
from bench.core import (
    BenchConfig,
    Result,
    bench_settings,
    create_baseline_events_table,
    latency_note,
    median,
    wipe,
)
from bench.library import command as library_commands
from bench.library import open_library, seed
from domain.accounts.account import Account
from domain.accounts.values import Profile
from infrastructure.root import Chronicle
from infrastructure.shared.event_store import ChronicleRecorder


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


def profile_payload(container: Chronicle, account_id: UUID) -> tuple[str, bytes]:
    """The stored topic and state of one ProfileUpdated event, as the application encodes it."""
    account = container.accounts.load(account_id, Account)
    account.update_profile(profile=Profile("Ada", "Payload"), now=datetime.now(UTC))
    with recording_metadata(context()):
        stored = container.accounts.mapper.to_stored_event(account.collect_events()[-1])
    return stored.topic, stored.state


class RawStatements:
    """One connection per writer: the baseline's INSERT, and the floor (a command's own statements, raw).

    The floor sends what the recorder sends for a command, taken from it: the load (the latest snapshot, the
    events after it and the stream's key row, one statement) and the save of one event (one call of the append
    function: lock, chain, insert, NOTIFY)."""

    def __init__(
        self,
        database_url: str,
        writers: int,
        table: str,
        topic: str,
        state: bytes,
        floor_of: Chronicle | None = None,
    ) -> None:
        self.connections = [psycopg.connect(database_url, autocommit=True) for _ in range(writers)]
        self.insert = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)"  # noqa: S608
        self.topic, self.state = topic, state
        self.load = self.append = b""
        if floor_of is not None:  # the floor's statements, as ``floor_of``'s recorder composes them
            recorder, snapshots = floor_of.log.recorder, floor_of.accounts.snapshots
            assert isinstance(recorder, ChronicleRecorder) and snapshots is not None
            assert isinstance(snapshots.recorder, PostgresAggregateRecorder)
            assert isinstance(recorder.append_one_statement, bytes)
            self.load, self.append = recorder.load_statement(snapshots.recorder), recorder.append_one_statement

    def baseline(self, writer: int, n: int) -> None:
        """Single-row INSERT + commit of the same payload."""
        self.connections[writer].execute(self.insert, (uuid4(), self.topic, self.state), prepare=True)

    def floor(self, writer: int, n: int) -> None:
        """What a command sends, without the application: the load's statement, then the append function's call."""
        conn = self.connections[writer]
        assert self.load, "RawStatements(floor_of=...) composes the floor's statements"
        conn.execute(self.load, {"id": account_id(n)}, prepare=True).fetchall()
        conn.execute(self.append, (uuid4(), 1, self.topic, self.state), prepare=True).fetchall()

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def scenario(writers: int) -> Callable[[BenchConfig], list[Result]]:
    def run(config: BenchConfig) -> list[Result]:
        wipe(config.database_url)
        per_writer = config.scale(2000, 100) // writers
        warm = max(1, per_writer // 10)
        container = Chronicle(bench_settings(config.database_url))
        container.open()
        # Every command updates an account of its own (six events at most): appends, not long replays.
        load_backlog(
            container.accounts, config.database_url, EVENTS_PER_ACCOUNT * writers * (warm + per_writer * config.runs)
        )
        sent = [0] * writers
        peer = open_library(config.database_url)
        peer_ids = seed(peer, writers * (warm + per_writer * config.runs))
        peer_sent = [0] * writers
        try:
            topic, state = profile_payload(container, account_id(0))
            with psycopg.connect(config.database_url, autocommit=True) as conn:
                table = create_baseline_events_table(conn, "append")
            raw = RawStatements(config.database_url, writers, table, topic, state, floor_of=container)
            try:

                def command(writer: int, n: int) -> None:
                    stream = account_id(writer + writers * sent[writer])
                    sent[writer] += 1
                    container.accounts.update_profile(context(), stream, Profile("Ada", f"Run{n}"))

                def library_command(writer: int, n: int) -> None:
                    profile_id = peer_ids[writer + writers * peer_sent[writer]]
                    peer_sent[writer] += 1
                    library_commands(peer, profile_id, n)

                run_writers(writers, warm, command)  # warm pools and caches
                run_writers(writers, warm, raw.baseline)
                run_writers(writers, warm, library_command)
                chronicle, baseline, floor, latencies, cpu, library = [], [], [], [], 0.0, []
                for _ in range(config.runs):
                    elapsed, _ = run_writers(writers, per_writer, library_command)
                    library.append(writers * per_writer / elapsed)
                    elapsed, _ = run_writers(writers, per_writer, raw.baseline)
                    baseline.append(writers * per_writer / elapsed)
                    elapsed, _ = run_writers(writers, per_writer, raw.floor)
                    floor.append(writers * per_writer / elapsed)
                    began = time.process_time()
                    elapsed, lat = run_writers(writers, per_writer, command)
                    cpu += time.process_time() - began
                    chronicle.append(writers * per_writer / elapsed)
                    latencies.extend(lat)
            finally:
                raw.close()
        finally:
            container.close()
            peer.close()
        ratio_target = 0.35 if writers == 1 else 0.5  # issue 13's targets
        peer_target = 2.0 if writers == 1 else 4.0
        value, base = median(chronicle), median(baseline)
        commands = writers * per_writer * config.runs
        plural = "s" if writers > 1 else ""
        return [
            Result(
                scenario=f"append-{writers}",
                figure=f"append, {writers} writer{plural} (commands/s)",
                value=value,
                unit="commands/s",
                baseline=base,
                baseline_label=f"raw INSERT + commit, {writers} connection{plural} (rows/s)",
                target=f"≥ {ratio_target:g} x baseline",
                met=value >= ratio_target * base,
                notes=[
                    f"{writers * per_writer} commands per run: update_profile (load, decide, save one event) on "
                    "accounts of six events at most, written beforehand with COPY",
                    "Chronicle runs: " + ", ".join(f"{x:.0f}" for x in chronicle),
                    "baseline runs: " + ", ".join(f"{x:.0f}" for x in baseline),
                    f"floor: a command's own statements sent raw, as the recorder composes them (the load's one "
                    f"SELECT: snapshot, events and key row; then the append function's one call: lock, chain, "
                    f"insert, NOTIFY, commit), {writers} connection{plural}: "
                    f"{median(floor):.0f}/s = "
                    f"{median(floor) / base:.2f} x baseline (runs: {', '.join(f'{x:.0f}' for x in floor)})",
                    f"Python CPU per command in the bench process: {cpu / commands * 1e6:.0f} µs "
                    f"(one process: {writers} writer thread{plural} on one interpreter lock)",
                    latency_note("command latency", latencies),
                ],
            ),
            Result(
                scenario=f"append-{writers}",
                figure=f"append, {writers} writer{plural}, against the plain eventsourcing library (commands/s)",
                value=value,
                unit="commands/s",
                baseline=median(library),
                baseline_label=f"the eventsourcing library's own load → decide → save of one event, default "
                f"settings, its own database, {writers} thread{plural} (commands/s)",
                target=f"≥ {peer_target:g} x baseline",
                met=value >= peer_target * median(library),
                notes=[
                    "the peer: bench/library.py (an Aggregate with registration and updates, Application with "
                    "eventsourcing.postgres, nothing changed); same run, interleaved with Chronicle's runs",
                    "library runs: " + ", ".join(f"{x:.0f}" for x in library),
                ],
            ),
        ]

    return run


append_1 = scenario(1)
append_16 = scenario(16)
