"""``python -m bench``: run the benchmark scenarios against a scratch PostgreSQL database and write the table.

    .venv/bin/python -m bench                       # every scenario, writes docs/benchmarks.md
    .venv/bin/python -m bench --quick               # seconds: a smoke run, tiny sizes, writes nothing by default
    .venv/bin/python -m bench --only catch-up       # one scenario alone (repeat --only for several)

The scratch database's Chronicle tables are dropped and recreated: never point it at real data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.core import DEFAULT_DATABASE_URL, BenchConfig, Result, chronicle_settings_record, ensure_database
from bench.environment import describe
from bench.report import document, table
from bench.scenarios import SCENARIOS

ANALYSIS = Path(__file__).with_name("analysis.md")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and two runs: a smoke test, seconds")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only this scenario")
    parser.add_argument("--runs", type=int, default=None, help="repeats per figure (default 5, quick 2)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="scratch database (tables are dropped)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Chronicle setting for every bench process, e.g. group_commit=false (to measure before/after)",
    )
    parser.add_argument("--output", type=Path, default=None, help="markdown file to write (default: none)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[Result]:
    args = parse(argv)
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        os.environ[name.strip().upper()] = value.strip()
    config = BenchConfig(database_url=args.database_url, runs=args.runs or (2 if args.quick else 5), quick=args.quick)
    ensure_database(config.database_url)
    record = describe(config.database_url)
    record.update(chronicle_settings_record())
    if args.set:
        record["settings given with --set"] = ", ".join(args.set)
    record["bench"] = f"{'quick' if args.quick else 'full'}, {config.runs} runs per figure (medians)"
    results: list[Result] = []
    began = time.perf_counter()
    for name in args.only or list(SCENARIOS):
        print(f"== {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        scenario_results = SCENARIOS[name](config)
        results.extend(scenario_results)
        print(table(scenario_results), file=sys.stderr)
        print(f"   ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    record["wall time of the whole bench"] = f"{time.perf_counter() - began:.0f} s"
    record["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(table(results))
    if args.output:
        command = "make bench" if not args.quick and not args.only else "python -m bench " + " ".join(sys.argv[1:])
        preface = Path(__file__).with_name("preface.md").read_text().strip()
        analysis = ANALYSIS.read_text().strip() if ANALYSIS.exists() else ""
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(document(results, record, command, preface, analysis))
        print(f"wrote {args.output}", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
