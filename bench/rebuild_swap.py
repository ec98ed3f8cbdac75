"""By hand: what a zero-downtime rebuild costs beside the in-place one, on the same log.

    PYTHONPATH=. .venv/bin/python -m bench.rebuild_swap postgresql://postgres@127.0.0.1:5432/bench_scratch 100000

Seeds ``events`` log entries (work orders through the import: two entries per order), catches the
live ``work_orders`` model up, then times, on the same log: the in-place rebuild (reset + catch up:
queries see a partial model meanwhile) and the zero-downtime one (shadow schema, compare, swap). It
prints one JSON line. The scratch database's Chronicle tables are emptied first: never point it at
real data.
"""

from __future__ import annotations

import json
import sys
import time

import psycopg
from psycopg import sql

from application.shared.commands import CommandContext
from bench.core import bench_settings
from domain.work_orders.new_order import NewWorkOrder
from infrastructure.root import Chronicle
from infrastructure.shared.readstore import metadata

CHUNK = 5_000


def empty(database_url: str) -> None:
    tables = ["chronicle_events", "chronicle_snapshots", *(table.name for table in metadata.sorted_tables)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        present = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)", (tables,)
            )
        ]
        if present:
            names = sql.SQL(", ").join(sql.Identifier(name) for name in present)
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))


def main() -> None:
    database_url, events = sys.argv[1], int(sys.argv[2])
    empty(database_url)
    container = Chronicle(bench_settings(database_url))
    container.open()
    try:
        ctx = CommandContext(actor="bench", correlation_id="bench", causation_id="bench", now=container.clock())
        orders = events // 2
        today = ctx.now.date()
        for start in range(0, orders, CHUNK):
            rows = [
                (n + 2, NewWorkOrder(f"B-{n}", f"Client {n % 7}", "Job", f"M-{n % 5}", today, "normal"))
                for n in range(start, min(orders, start + CHUNK))
            ]
            container.work_orders.import_work_orders(ctx, rows)
        runner = container.runners["work_orders"]
        runner.catch_up()

        began = time.perf_counter()
        runner.reset()
        runner.catch_up()
        in_place = time.perf_counter() - began

        began = time.perf_counter()
        report = container.rebuilds.run("work_orders")
        zero_downtime = time.perf_counter() - began
    finally:
        container.close()
    print(
        json.dumps(
            {
                "log_entries": report.position,
                "rows": {diff.table: diff.new_rows for diff in report.tables},
                "in_place_seconds": round(in_place, 2),
                "zero_downtime_seconds": round(zero_downtime, 2),
                "swapped": report.swapped,
                "differs": report.differs,
            }
        )
    )


if __name__ == "__main__":
    main()
