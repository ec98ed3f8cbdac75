"""Loading one aggregate from streams of growing length, with and without a snapshot, against a raw SELECT."""

from __future__ import annotations

import time
from uuid import UUID

import psycopg

from application.shared.commands import CommandContext
from application.shared.metadata import recording_metadata
from bench.backlog import account_events
from bench.core import BenchConfig, Result, bench_settings, latency_note, median, wipe
from domain.accounts.account import Account
from infrastructure.root import Chronicle

# A snapshot is taken every 50 events, so a loaded stream replays on average 25 events after its snapshot.
EVENTS_AFTER_SNAPSHOT = 25


def write_stream(container: Chronicle, database_url: str, index: int, length: int) -> UUID:
    """One account with ``length`` events (registration, verification, profile updates), COPYed in."""
    events = account_events(index, updates=length - 2)
    ctx = CommandContext(actor="bench", correlation_id="bench", causation_id="bench", now=events[0].timestamp)
    with recording_metadata(ctx):
        rows = [container.accounts.mapper.to_stored_event(e) for e in events]
    copy_sql = "COPY chronicle_events (originator_id, originator_version, topic, state) FROM STDIN"
    with psycopg.connect(database_url) as conn, conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for s in rows:
            copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))
    return events[0].originator_id  # type: ignore[no-any-return]


def load_times(action: object, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return times


def aggregate_load(config: BenchConfig) -> list[Result]:
    wipe(config.database_url)
    # Loads from the store: the aggregate cache (on by default) would answer every repeat from memory.
    container = Chronicle(bench_settings(config.database_url, aggregate_cache_size=0))
    container.open()
    lengths = (100, 1_000, 10_000) if not config.quick else (100, 1_000)
    repeats = config.scale(20, 3)
    results: list[Result] = []
    try:
        with psycopg.connect(config.database_url, autocommit=True) as raw:
            raw_sql = "SELECT * FROM chronicle_events WHERE originator_id = %s ORDER BY originator_version"
            snapshot_flat: dict[int, float] = {}
            for n, length in enumerate(lengths):
                plain = write_stream(container, config.database_url, 2 * n, length)
                snapped = write_stream(container, config.database_url, 2 * n + 1, length)
                container.accounts.take_snapshot(snapped, version=length - EVENTS_AFTER_SNAPSHOT)
                for stream in (plain, snapped):
                    container.accounts.repository.get(stream)  # warm
                without: list[float] = []
                with_snapshot: list[float] = []
                baseline: list[float] = []
                for _ in range(config.runs):
                    baseline += load_times(lambda s=plain: raw.execute(raw_sql, (s,), prepare=True).fetchall(), repeats)
                    without += load_times(lambda s=plain: container.accounts.repository.get(s), repeats)
                    with_snapshot += load_times(lambda s=snapped: container.accounts.repository.get(s), repeats)
                assert isinstance(container.accounts.repository.get(snapped), Account)
                base = median(baseline) * 1000
                snapshot_flat[length] = median(with_snapshot) * 1000
                for label, times in (("without snapshot", without), ("with snapshot", with_snapshot)):
                    results.append(
                        Result(
                            scenario="aggregate-load",
                            figure=f"load a {length:,}-event stream, {label} (ms)",
                            value=median(times) * 1000,
                            unit="ms",
                            baseline=base,
                            baseline_label="raw SELECT of the stream's rows (ms)",
                            target="with snapshots, flat in stream length" if label == "with snapshot" else "—",
                            met=None,
                            higher_is_better=False,
                            notes=[latency_note("load", times)]
                            + (
                                [f"snapshot at version {length - EVENTS_AFTER_SNAPSHOT}, replays the rest"]
                                if label == "with snapshot"
                                else []
                            ),
                        )
                    )
    finally:
        container.close()
    # Flat: the longest stream loads with its snapshot within 1.5x (+0.5 ms) of the shortest.
    shortest, longest = snapshot_flat[lengths[0]], snapshot_flat[lengths[-1]]
    flat = longest <= 1.5 * shortest + 0.5
    for result in results:
        if result.figure.endswith("with snapshot (ms)"):
            result.met = flat
    results[-1].notes.append(
        f"flat: {longest:.2f} ms at {lengths[-1]:,} events vs {shortest:.2f} ms at {lengths[0]:,} (limit 1.5x + 0.5 ms)"
    )
    return results
