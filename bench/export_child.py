"""Child process of the audit-export scenario: export the whole log to a file as ``chronicle audit export``
does, reporting lines, bytes, wall time and peak RSS (after a quarter of the lines, and at the end) as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time

from bench.core import bench_settings
from infrastructure.root import Chronicle
from infrastructure.shared.export import AuditExporter


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    database_url, quarter, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    container = Chronicle(bench_settings(database_url))
    container.open()
    lines = written = 0
    peak_at_quarter = 0.0
    try:
        exporter: AuditExporter = container.services[AuditExporter]
        began = time.perf_counter()
        with open(path, "wb") as out:
            for line in exporter.lines():
                out.write(line)
                lines += 1
                written += len(line)
                if lines == quarter:
                    peak_at_quarter = peak_rss_mib()
        wall = time.perf_counter() - began
        page_size = exporter.page_size
    finally:
        container.close()
    print(
        json.dumps(
            {
                "lines": lines,
                "bytes": written,
                "wall_seconds": wall,
                "page_size": page_size,
                "peak_rss_mib": peak_rss_mib(),
                "peak_rss_mib_at_quarter": peak_at_quarter,
            }
        )
    )


if __name__ == "__main__":
    main()
