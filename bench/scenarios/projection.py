"""Folding a backlog into the accounts read model (catch-up, rebuild) against reading the same rows raw."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psycopg

from bench.backlog import load_backlog
from bench.core import BenchConfig, Result, bench_settings, chronicle_collector, median, wipe
from bench.library import ProfilesView, library_catch_up, open_library, seed
from infrastructure.accounts.tables import ACCOUNT_TABLES
from infrastructure.root import Chronicle
from infrastructure.shared.readstore import metadata

CURSOR_ITERSIZE = 2000


def cursor_read_rate(database_url: str) -> float:
    """Events/s of reading the whole log in position order through a server-side cursor, touching every row."""
    with psycopg.connect(database_url) as conn:
        began = time.perf_counter()
        rows = 0
        with conn.cursor(name="bench_backlog") as cursor:
            cursor.itersize = CURSOR_ITERSIZE
            cursor.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM chronicle_events ORDER BY notification_id"
            )
            for row in cursor:
                rows += len(row[4]) > 0
        return rows / (time.perf_counter() - began)


def decode_rate(container: Chronicle) -> float:
    """Events/s of reading the log through the recorder and decoding every event, writing nothing:
    the part of a catch-up that does not depend on the read model. Read and decoded as the runners do:
    through the log (the accounts application appends to the same recorder), with each batch's keys prefetched."""
    recorder, mapper = container.log.recorder, container.log.metadata_mapper
    batch, position, decoded = container.settings.projection_batch_size, 0, 0
    began = time.perf_counter()
    while notifications := recorder.select_notifications(start=position + 1, limit=batch):
        # The batch's personal-data keys in one lookup, as the runner does (without it, a lookup per account
        # made this "bound" slower than the fold it bounds).
        mapper.prefetch_keys(notifications)
        for notification in notifications:
            mapper.to_event_and_metadata(notification)
        decoded += len(notifications)
        position = notifications[-1].id
    return decoded / (time.perf_counter() - began)


def fresh_read_model(container: Chronicle) -> None:
    """New, empty read-model tables, as a first deployment of the projection has (no bloat from earlier runs)."""
    metadata.drop_all(container.write_engine, tables=list(ACCOUNT_TABLES))
    metadata.create_all(container.write_engine)
    container.runners["accounts"].reset()


def fold_rate(container: Chronicle) -> tuple[float, int]:
    runner = container.runners["accounts"]
    fresh_read_model(container)
    began = time.perf_counter()
    consumed = runner.catch_up()
    return consumed / (time.perf_counter() - began), consumed


def prepare(config: BenchConfig, events: int) -> Chronicle:
    wipe(config.database_url)
    container = Chronicle(bench_settings(config.database_url))
    container.open()
    load_backlog(container.accounts, config.database_url, events)
    return container


def catch_up(config: BenchConfig) -> list[Result]:
    events = config.scale(100_000, 5_000)
    container = prepare(config, events)
    peer = open_library(config.database_url)
    # The peer's log: as many events as Chronicle's backlog, five per profile (registration, four updates).
    seed(peer, -(-events // 5), updates=4)
    view = ProfilesView(peer.factory.datastore)  # type: ignore[attr-defined]
    view.create_table()
    try:
        chronicle, baseline, decoding, library, untuned = [], [], [], [], []
        for _ in range(config.runs):
            baseline.append(cursor_read_rate(config.database_url))
            # Chronicle folds in a process of its own (`chronicle project`, a server's worker), which sets its
            # garbage collector once started: so do its fold and its bound here. Then the same fold again with
            # the interpreter's collector, which the baselines run with.
            with chronicle_collector(container.settings):
                decoding.append(decode_rate(container))
                rate, consumed = fold_rate(container)
            chronicle.append(rate)
            untuned.append(fold_rate(container)[0])
            began = time.perf_counter()
            folded = library_catch_up(peer, view)
            library.append(folded / (time.perf_counter() - began))
    finally:
        container.close()
        peer.close()
    value, base = median(chronicle), median(baseline)
    return [
        Result(
            scenario="catch-up",
            figure=f"projection catch-up, {consumed:,}-event backlog (events/s)",
            value=value,
            unit="events/s",
            baseline=base,
            baseline_label=f"server-side cursor read of the same rows, itersize {CURSOR_ITERSIZE} (events/s)",
            target="≥ 0.3 x baseline and ≥ 30,000 events/s",
            met=value >= 0.3 * base and value >= 30_000,
            notes=[
                f"accounts projection, batch size {container.settings.projection_batch_size}; "
                "each run starts from new, empty read-model tables and folds the whole backlog",
                "Chronicle runs: " + ", ".join(f"{x:,.0f}" for x in chronicle),
                f"its garbage collector as a Chronicle process sets it (GC_YOUNG_THRESHOLD "
                f"{container.settings.gc_young_threshold:,}, start-up objects frozen); the same fold with the "
                f"interpreter's collector, as the baselines run: {median(untuned):,.0f} events/s (runs: "
                f"{', '.join(f'{x:,.0f}' for x in untuned)})",
                "baseline runs: " + ", ".join(f"{x:,.0f}" for x in baseline),
                f"bound: reading the same events through the recorder and decoding each one (no handler, no "
                f"writes) runs at {median(decoding):,.0f} events/s = {median(decoding) / base:.2f} x baseline "
                f"(runs: {', '.join(f'{x:,.0f}' for x in decoding)})",
            ],
        ),
        Result(
            scenario="catch-up",
            figure=f"projection catch-up, {consumed:,}-event backlog, against the plain eventsourcing library "
            "(events/s)",
            value=value,
            unit="events/s",
            baseline=median(library),
            baseline_label="the library's recorder, mapper and tracking recorder folding the same number of "
            "events into a PostgreSQL table, a batch per transaction (events/s)",
            target="measured (no target)",
            met=None,
            notes=[
                "the peer: bench/library.py (library_catch_up over its own log in its own database)",
                "library runs: " + ", ".join(f"{x:,.0f}" for x in library),
            ],
        ),
    ]


def rebuild(config: BenchConfig) -> list[Result]:
    """Wall time and peak RSS of ``runner.reset(); runner.catch_up()`` in a fresh process, like the CLI's rebuild."""
    events = config.scale(1_000_000, 10_000)
    container = prepare(config, events)
    container.close()
    quarter = events // 4
    walls, peaks_quarter, peaks_full = [], [], []
    runs = 1  # a million-event rebuild is long; one run, its memory sampled within
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.rebuild_child", config.database_url, str(quarter)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        measured = json.loads(out.strip().splitlines()[-1])
        walls.append(measured["wall_seconds"])
        peaks_quarter.append(measured["peak_rss_mib_at_quarter"])
        peaks_full.append(measured["peak_rss_mib"])
    baseline_rate = median(cursor_read_rate(config.database_url) for _ in range(config.runs))
    wall, peak, peak_q = median(walls), median(peaks_full), median(peaks_quarter)
    flat = peak <= 1.2 * peak_q
    return [
        Result(
            scenario="rebuild",
            figure=f"rebuild accounts read model from {measured['consumed']:,} events (wall s)",
            value=wall,
            unit="s",
            baseline=measured["consumed"] / baseline_rate,
            baseline_label="the catch-up baseline: cursor read of the same events (s)",
            target="≤ 25 s, memory flat in event count",
            met=wall <= 25 and flat,
            higher_is_better=False,
            notes=[
                f"{measured['consumed'] / wall:,.0f} events/s; {runs} run(s) in a fresh process (reset + catch_up)",
                f"peak RSS {peak_q:.0f} MiB after {quarter:,} events, {peak:.0f} MiB after {measured['consumed']:,} "
                f"({'flat' if flat else 'NOT flat'}: limit 1.2x)",
            ],
        )
    ]
