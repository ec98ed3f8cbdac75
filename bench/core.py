"""What every scenario shares: the result record, percentiles, the run settings and scratch-database helpers."""

from __future__ import annotations

import contextlib
import gc
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from infrastructure import root as _composition_root  # noqa: F401 - imports every read model's tables
from infrastructure.root import Chronicle
from infrastructure.shared.collector import tune_collector
from infrastructure.shared.readstore import metadata
from infrastructure.shared.settings import Settings

BENCH_PASSWORD = "bench-pass-1"  # noqa: S105 - throwaway benchmark accounts
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/chronicle_bench"
# The event store's tables, and every read-model table the composition root creates.
CHRONICLE_TABLES = ("chronicle_events", "chronicle_snapshots", *(table.name for table in metadata.sorted_tables))
# Baseline tables live beside Chronicle's, prefixed so a wipe finds them.
BASELINE_PREFIX = "bench_baseline_"


@dataclass(frozen=True)
class BenchConfig:
    """How a scenario should run: where, how many repeats, and whether this is the quick smoke variant."""

    database_url: str = DEFAULT_DATABASE_URL
    runs: int = 5
    quick: bool = False

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass
class Result:
    """One row of the results table: Chronicle's figure, the baseline measured in the same run, the target."""

    scenario: str
    figure: str
    value: float
    unit: str
    baseline: float | None
    baseline_label: str
    target: str
    met: bool | None
    higher_is_better: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """Chronicle relative to the baseline, oriented so that 1.0 means 'as good as the baseline'."""
        if self.baseline is None or self.value == 0 or self.baseline == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


Scenario = Callable[[BenchConfig], list[Result]]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: always one of the measured values, never above the maximum."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def latency_note(label: str, seconds: Sequence[float]) -> str:
    """'label p50 … ms, p99 … ms, max … ms' over every measured value (not a median of per-run percentiles)."""
    return (
        f"{label} p50 {percentile(seconds, 50) * 1000:.2f} ms, p99 {percentile(seconds, 99) * 1000:.2f} ms, "
        f"max {max(seconds) * 1000:.2f} ms ({len(seconds)} samples)"
    )


def spread(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    """The individual runs, for the notes: the noise is part of the measurement."""
    return "runs: " + ", ".join(fmt.format(v) for v in values)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


BENCH_JWT_SECRET = "bench-secret-not-the-development-default-0123"  # noqa: S105  a scratch database's
BENCH_PII_MASTER_KEY = "bench-pii-master-key-not-for-real-data-0123456789"


@contextlib.contextmanager
def chronicle_collector(settings: Settings) -> Iterator[None]:
    """This bench process's garbage collector as a Chronicle process sets it once started (``tune_collector``,
    ``GC_YOUNG_THRESHOLD``) while the block runs; the interpreter's again after it, for the baselines."""
    before = gc.get_threshold()
    tune_collector(settings.gc_young_threshold)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def bench_settings(database_url: str | None, **overrides: Any) -> Settings:
    """Chronicle's settings for a bench process: PostgreSQL (None: the embedded store), cheap password hashing,
    projections driven by hand, and rate limits so high that the limiter counts every request (its cost is
    measured) but never refuses one (32 users log in from one address, each then sends hundreds a minute)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": Path(tempfile.mkdtemp(prefix="chronicle-bench-")),
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 1024,
        "argon2_parallelism": 1,
        "auto_verify_email": True,
        "run_projections_in_process": False,
        "superadmin_email": None,
        "jwt_secret": BENCH_JWT_SECRET,
        # Every bench process seals and opens personal fields with the same key (each has its own DATA_DIR).
        "pii_master_key": BENCH_PII_MASTER_KEY,
        "postgres_pool_size": 20,
        "postgres_max_overflow": 10,
        "rate_limit_anonymous_per_minute": 1_000_000,
        "rate_limit_credentials_per_minute": 1_000_000,
        "rate_limit_credentials_email_per_minute": 1_000_000,
        "rate_limit_account_per_minute": 1_000_000,
    }
    # A setting given in the environment (``python -m bench --set NAME=VALUE``) wins over the bench's defaults.
    values = {k: v for k, v in values.items() if k == "database_url" or k.upper() not in os.environ}
    values.update(overrides)
    return Settings(**values)


def chronicle_settings_record() -> dict[str, str]:
    """The Chronicle settings that shape the figures, as the bench's processes see them."""
    settings = bench_settings(DEFAULT_DATABASE_URL)
    names = (
        "group_commit",
        "aggregate_cache_size",
        "projection_batch_size",
        "postgres_pool_size",
        "postgres_max_overflow",
        "gc_young_threshold",
    )
    return {f"chronicle {name}": str(getattr(settings, name)) for name in names}


def wipe(database_url: str) -> None:
    """Drop Chronicle's tables and the baselines' in the scratch database; the next container recreates them."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        baselines = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE %s",
                (BASELINE_PREFIX + "%",),
            )
        ]
        conn.execute(f"DROP TABLE IF EXISTS {', '.join((*CHRONICLE_TABLES, *baselines))} CASCADE")


def create_baseline_events_table(conn: psycopg.Connection[Any], name: str) -> str:
    """A table shaped like ``chronicle_events`` (no table lock, no application in front): what raw inserts hit."""
    table = BASELINE_PREFIX + name
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TABLE {table} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, "
        "state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
    )
    conn.execute(f"CREATE UNIQUE INDEX ON {table} (notification_id)")
    return table


def ensure_database(database_url: str) -> None:
    """Create the scratch database if it is missing (connecting through the server's ``postgres`` database)."""
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(database_url)
    name = params.get("dbname")
    admin = make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))


def scratch_container(database_url: str) -> Chronicle:
    """A container on the emptied scratch database, opened (wired, no threads): the development tools' start."""
    wipe(database_url)
    container = Chronicle(bench_settings(database_url))
    container.open()
    return container
