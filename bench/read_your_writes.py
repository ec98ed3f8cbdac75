"""How long a client waits to read its own write: command returns → read model has it.

Runs the projections in-process (as `chronicle serve` does on the embedded store), issues
registrations spaced apart, and times `PositionBoard.wait` for each command's position.
Prints p50/p99. Timings are never asserted; this is run by hand:

    .venv/bin/python -m bench.read_your_writes                       # embedded SQLite
    .venv/bin/python -m bench.read_your_writes --database-url postgresql://postgres@127.0.0.1:5432/bench_ryw

The PostgreSQL database is wiped of Chronicle's tables first: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import psycopg

from domain.account import Profile
from infrastructure.container import Container
from infrastructure.settings import Settings

TABLES = "chronicle_events, chronicle_snapshots, projection_tracking, rm_account_roles, rm_sessions, rm_accounts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL scratch database (default: embedded)")
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=10.0, help="pause between commands (0: back to back)")
    parser.add_argument("--without-mail", action="store_true", help="run only the accounts projection")
    args = parser.parse_args()

    if args.database_url:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {TABLES} CASCADE")
    settings = Settings(
        database_url=args.database_url,
        data_dir=Path(tempfile.mkdtemp(prefix="chronicle-bench-")),
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        argon2_parallelism=1,
        run_projections_in_process=True,
        superadmin_email=None,
    )
    container = Container(settings)
    if args.without_mail:
        container.runners.pop("mail")
    container.start()
    waits: list[float] = []
    try:
        for n in range(args.commands):
            result = container.accounts.register(
                container.system_context("bench"),
                email=f"bench-{n}@example.com",
                password="bench-pass-1",  # noqa: S106 - a throwaway benchmark account
                profile=Profile("Bench", "Mark"),
            )
            started = time.perf_counter()
            if not container.board.wait("accounts", result.position, timeout=5.0):
                raise SystemExit(f"position {result.position} not reached within 5 s")
            waits.append((time.perf_counter() - started) * 1000)
            time.sleep(args.gap_ms / 1000)
    finally:
        container.close()
    ordered = sorted(waits)

    def percentile(p: float) -> float:  # nearest rank: always one of the measured values
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    store = "PostgreSQL" if args.database_url else "embedded SQLite"
    print(
        f"{store}: {len(waits)} commands, gap {args.gap_ms:g} ms, mail runner {'off' if args.without_mail else 'on'}: "
        f"p50 {percentile(50):.2f} ms, p99 {percentile(99):.2f} ms, max {max(waits):.2f} ms"
    )


if __name__ == "__main__":
    main()
