"""The audit export of a big log: events/s to an NDJSON file, and memory flat in the number of events."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.core import BenchConfig, Result, median
from bench.scenarios.projection import cursor_read_rate, prepare


def audit_export(config: BenchConfig) -> list[Result]:
    """``chronicle audit export`` of the whole log in a fresh process; peak RSS sampled at a quarter and at the end."""
    events = config.scale(1_000_000, 10_000)
    container = prepare(config, events)
    container.close()
    quarter = events // 4
    with tempfile.TemporaryDirectory(prefix="chronicle-export-") as folder:
        out = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.export_child", config.database_url, str(quarter), str(Path(folder) / "log")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    measured = json.loads(out.strip().splitlines()[-1])
    baseline_rate = median(cursor_read_rate(config.database_url) for _ in range(config.runs))
    rate = measured["lines"] / measured["wall_seconds"]
    peak, peak_q = measured["peak_rss_mib"], measured["peak_rss_mib_at_quarter"]
    flat = peak <= 1.2 * peak_q
    return [
        Result(
            scenario="audit-export",
            figure=f"audit export of {measured['lines']:,} events to NDJSON (events/s)",
            value=rate,
            unit="events/s",
            baseline=baseline_rate,
            baseline_label="server-side cursor read of the same rows (events/s)",
            target="memory flat in event count",
            met=flat,
            notes=[
                f"one run in a fresh process: {measured['wall_seconds']:.1f} s, "
                f"{measured['bytes'] / 2**20:,.0f} MiB written, pages of {measured['page_size']} events",
                f"peak RSS {peak_q:.0f} MiB after {quarter:,} events, {peak:.0f} MiB after {measured['lines']:,} "
                f"({'flat' if flat else 'NOT flat'}: limit 1.2x)",
            ],
        )
    ]
