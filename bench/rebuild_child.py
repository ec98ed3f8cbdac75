"""Child process of the rebuild scenario: reset + catch up, reporting wall time and peak RSS as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time

from bench.core import bench_settings
from infrastructure.root import Chronicle


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    database_url, quarter = sys.argv[1], int(sys.argv[2])
    container = Chronicle(bench_settings(database_url))
    container.open()
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
