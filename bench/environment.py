"""The machine, the server and the code a run measured: recorded beside every table of figures."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg

PG_SETTINGS = (
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "commit_delay",
    "shared_buffers",
    "work_mem",
    "max_connections",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603, S607
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe(database_url: str | None) -> dict[str, str]:
    """Everything a reader needs to judge a figure: when, what code, which machine, which server settings."""
    # The results files (docs/) are rewritten by every run: their own changes do not make the code dirty.
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs")
    dirty = " (uncommitted changes)" if changed else ""
    record = {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "commit": _git("rev-parse", "--short", "HEAD") + dirty,
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "cpu": f"{_cpu_model()}, {os.cpu_count()} cores",
        "ram": _ram_gib(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "os": platform.platform(),
    }
    if database_url is None:
        record["store"] = "embedded SQLite"
        return record
    with psycopg.connect(database_url) as conn:
        record["postgresql"] = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        for name in PG_SETTINGS:
            record[f"pg {name}"] = str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
    return record
