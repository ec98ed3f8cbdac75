"""recorder-append's pattern while the log grows (a development tool, not a scenario).

``python -m bench.recorder_growth --database-url postgresql://.../scratch``

Drops Chronicle's tables in the scratch database, starts the log at five events (ANALYZE'd, as the
scenario's backlog is), then alternates batches of 500 appends of one pre-encoded event through the
log's recorder (group commit: the leader's kept connection) with 500 raw INSERT + commit, four pairs
per step, and prints the median ratio at each log size. A ratio that falls as the log grows is a plan
made on the tiny log and kept (bench/analysis.md, recorder-append); alternating keeps the ratio
meaningful on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from uuid import uuid4

import psycopg
from eventsourcing.persistence import StoredEvent

from bench.backlog import EVENTS_PER_ACCOUNT, account_id, load_backlog
from bench.core import bench_settings, create_baseline_events_table, wipe
from bench.scenarios.append import RawStatements, profile_payload
from infrastructure.root import Chronicle


def rate(action: Callable[[], object], count: int = 500) -> float:
    began = time.perf_counter()
    for _ in range(count):
        action()
    return count / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="scratch database (Chronicle's tables are dropped)")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    url = args.database_url
    wipe(url)
    container = Chronicle(bench_settings(url))
    container.open()
    try:
        load_backlog(container.accounts, url, EVENTS_PER_ACCOUNT)
        topic, state = profile_payload(container, account_id(0))
        recorder = container.log.recorder
        with psycopg.connect(url, autocommit=True) as conn:
            table = create_baseline_events_table(conn, "recorder")
        raw = RawStatements(url, 1, table, topic, state)
        try:
            for _ in range(args.steps):
                ratios = []
                for _ in range(4):
                    base = rate(lambda: raw.baseline(0, 0))
                    ours = rate(lambda: recorder.insert_events([StoredEvent(uuid4(), 1, topic, state)]))
                    ratios.append(ours / base)
                ratios.sort()
                with psycopg.connect(url) as conn:
                    row = conn.execute("SELECT count(*) FROM chronicle_events").fetchone()
                print(
                    f"log {row[0] if row else 0} events: recorder / raw INSERT, median of 4 pairs "
                    f"{(ratios[1] + ratios[2]) / 2:.2f} (load average {os.getloadavg()[0]:.1f}, 2 cores)",
                    flush=True,
                )
        finally:
            raw.close()
    finally:
        container.close()


if __name__ == "__main__":
    main()
