"""How long a bulk import of work orders takes: an N-row .xlsx or .csv upload through the HTTP API.

Each run wipes the scratch store, builds the file in memory, posts it to
``POST /api/v1/work-orders/import`` as an admin (in-process ASGI client, so the multipart
parse, the content check, validation of every row, the uniqueness checks and the one atomic
save are all inside the timing), then separately times how long the work-order projections take
to fold the new orders (all three: together they write the tables the one work-orders projection
used to). Prints each run and the median. Timings are never asserted; run by hand:

    .venv/bin/python -m bench.work_order_import                          # PostgreSQL, 10,000 rows, xlsx and csv
    .venv/bin/python -m bench.work_order_import --rows 2000 --runs 1 --embedded
    .venv/bin/python -m bench.work_order_import --output docs/work-order-import.md   # the recorded figures

The PostgreSQL database (default ``bench_import`` on 127.0.0.1, created if missing) is wiped of
Chronicle's tables first: point ``--database-url`` only at a scratch database.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import Workbook

from bench.core import bench_settings, ensure_database, wipe
from bench.environment import describe
from infrastructure.root import Chronicle
from interfaces.http.app import create_app

HEADER = ["order_number", "client", "description", "machine", "due_date", "priority"]
ADMIN = ("bench-admin@example.com", "bench-pass-1")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_import"
# The runners that hold what the single work-orders projection held before it was split in three:
# rm_work_orders + rm_work_order_materials, rm_work_order_timeline, rm_workshop_counters + rm_workshop_due.
WORK_ORDER_RUNNERS = ("work_orders", "work_order_timeline", "workshop_dashboard")
PROJECTION_TIMEOUT_SECONDS = 600


def rows(count: int) -> list[list[object]]:
    start = date(2030, 1, 1)
    priorities = ["low", "normal", "high", "urgent"]
    return [
        [
            f"IMP-{n:06d}",
            f"Client {n % 250}",
            f"Weld frame section {n}",
            f"MIG-{n % 12}",
            start + timedelta(days=n % 365),
            priorities[n % 4],
        ]
        for n in range(count)
    ]


def xlsx_file(count: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows(count):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(count: int) -> bytes:
    lines = [",".join(HEADER)]
    lines += [
        ",".join(str(cell.isoformat() if isinstance(cell, date) else cell) for cell in row) for row in rows(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def one_run(kind: str, data: bytes, count: int, database_url: str | None) -> tuple[float, float]:
    """(seconds for the import request, seconds for the work-order projections to show every order)."""
    if database_url:
        wipe(database_url)
    settings = bench_settings(
        database_url, run_projections_in_process=True, superadmin_email=ADMIN[0], superadmin_password=ADMIN[1]
    )
    container = Chronicle(settings)
    container.start()
    try:
        with TestClient(create_app(root=container)) as client:
            login = client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            started = time.perf_counter()
            response = client.post(
                "/api/v1/work-orders/import", files={"file": (f"orders.{kind}", data)}, headers=headers
            )
            imported = time.perf_counter() - started
            if response.status_code != 201 or response.json()["imported"] != count:
                raise SystemExit(f"import failed: {response.status_code} {response.text[:500]}")
            position = response.json()["position"]
            deadline = time.monotonic() + PROJECTION_TIMEOUT_SECONDS
            for name in WORK_ORDER_RUNNERS:  # they run side by side: this waits for the last one
                if not container.board.wait(name, position, timeout=max(0.0, deadline - time.monotonic())):
                    raise SystemExit(f"the {name} projection did not catch up within {PROJECTION_TIMEOUT_SECONDS} s")
            projected = time.perf_counter() - started - imported
        return imported, projected
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default="xlsx,csv", help="comma-separated: xlsx, csv")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a scratch PostgreSQL database")
    parser.add_argument("--embedded", action="store_true", help="use the embedded SQLite store instead")
    parser.add_argument("--output", type=Path, default=None, help="also write the results as Markdown here")
    args = parser.parse_args()
    url = None if args.embedded else args.database_url
    if url:
        ensure_database(url)
    store = "embedded SQLite" if url is None else "PostgreSQL"
    lines = [
        "| file | rows | size | store | import request, each run (s) | median (s) | projection caught up, median (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind in args.kinds.split(","):
        data = xlsx_file(args.rows) if kind == "xlsx" else csv_file(args.rows)
        size = f"{len(data) / 1024 / 1024:.2f} MB"
        print(f"{kind}: {args.rows} rows, {size}, {store}")
        imports, projections = [], []
        for run in range(1, args.runs + 1):
            imported, projected = one_run(kind, data, args.rows, url)
            imports.append(imported)
            projections.append(projected)
            print(f"  run {run}: import request {imported:.2f} s, then projection caught up in {projected:.2f} s")
        median_import, median_projection = statistics.median(imports), statistics.median(projections)
        print(f"  median import {median_import:.2f} s, projection {median_projection:.2f} s")
        runs = ", ".join(f"{t:.2f}" for t in imports)
        lines.append(
            f"| {kind} | {args.rows} | {size} | {store} | {runs} | {median_import:.2f} | {median_projection:.2f} |"
        )
    if args.output:
        write_report(args.output, lines, url)


def write_report(path: Path, table: list[str], database_url: str | None) -> None:
    """The results with what they were measured on (the suite's own record), so a reader can repeat them."""
    record = describe(database_url)
    text = [
        "# Work-order bulk import: measured",
        "",
        "Written by `python -m bench.work_order_import --output docs/work-order-import.md` (see its",
        "docstring). The import request is timed end to end through the HTTP API (multipart parse,",
        "content check, validation of every row, one query for taken order numbers, one atomic save);",
        "the projection time is counted from the import's answer until the work-order read models (orders,",
        "timeline, workshop dashboard) hold every order. Target (issue 3): 10,000 rows in under 30 s.",
        "",
        *table,
        "",
        "## Environment",
        "",
        *(f"- {name}: {value}" for name, value in record.items()),
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
