"""What live work-order events cost the followers that handle them, one order a batch (a development tool,
not a scenario): how a projection worker sees the log under light load, one save after another.

``python -m bench.live_fold --database-url postgresql://.../scratch [--orders N]``

Drops Chronicle's tables in the scratch database, creates ``N`` work orders through the application (each
is two log entries: the order and its number's claim), then lets every follower that handles them apply
them one order a batch, one follower after the other, in this thread. Prints the followers, then per
batch: process CPU, wall time and the statements sent to PostgreSQL (``psycopg`` executes, counted).
CPU is little moved by other work on the machine, the load average is printed beside it; alternate
checkouts to compare.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from typing import Any

import psycopg

from bench.core import scratch_container
from bench.scenarios.append import context
from domain.work_orders.new_order import NewWorkOrder

ENTRIES_PER_ORDER = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    container = scratch_container(args.database_url)
    try:
        for runner in container.runners.values():
            runner.catch_up()
        start = container.head_position()
        for n in range(args.orders):
            new = NewWorkOrder(f"L-{n}", f"Client {n % 7}", "Job", f"M-{n % 5}", date.today(), "normal")
            container.work_orders.create_work_order(context(), new)
        topic = container.log.recorder.select_notifications(start=start + 1, limit=1)[0].topic
        handling = [r for r in container.runners.values() if r.follower.handlers.wants(topic)]
        print("followers:", ", ".join(r.name for r in handling))
        sent = [0]
        execute = psycopg.Cursor.execute

        def counted(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            sent[0] += 1
            return execute(cursor, *args, **kwargs)

        psycopg.Cursor.execute = counted  # type: ignore[method-assign]
        try:
            cpu, wall, batches = time.process_time(), time.perf_counter(), 0
            for runner in handling:
                while runner.run_once(limit=ENTRIES_PER_ORDER):
                    batches += 1
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        print(
            f"{batches} batches: CPU {cpu / batches * 1000:.3f} ms, wall {wall / batches * 1000:.3f} ms, "
            f"statements {sent[0] / batches:.2f} a batch (load {os.getloadavg()[0]:.1f})"
        )
    finally:
        container.close()


if __name__ == "__main__":
    main()
