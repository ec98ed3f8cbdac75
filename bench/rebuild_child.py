"""Child process of the rebuild scenario: reset + catch up, reporting wall time and peak RSS as JSON.

It starts as the CLI's rebuild does: the stores opened, then the garbage collector set (``GC_YOUNG_THRESHOLD``)."""

from __future__ import annotations

import json
import resource
import sys
import time

from bench.core import bench_settings
from infrastructure.root import Chronicle
from infrastructure.shared.collector import tune_collector


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    database_url, quarter = sys.argv[1], int(sys.argv[2])
    container = Chronicle(bench_settings(database_url))
    container.open()
    tune_collector(container.settings.gc_young_threshold)  # as `chronicle projections rebuild` does
    runner = container.runners["accounts"]
    seen = {"consumed": 0, "peak_at_quarter": 0.0}

    def progress(consumed: int) -> None:
        before = seen["consumed"]
        seen["consumed"] = before + consumed
        if before < quarter <= seen["consumed"]:
            seen["peak_at_quarter"] = peak_rss_mib()

    try:
        began = time.perf_counter()
        runner.reset()
        consumed = runner.catch_up(progress)
        wall = time.perf_counter() - began
    finally:
        container.close()
    print(
        json.dumps(
            {
                "consumed": consumed,
                "wall_seconds": wall,
                "peak_rss_mib": peak_rss_mib(),
                "peak_rss_mib_at_quarter": seen["peak_at_quarter"],
            }
        )
    )


if __name__ == "__main__":
    main()
