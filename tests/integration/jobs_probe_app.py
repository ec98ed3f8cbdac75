"""A Celery app over probe tasks that count their runs in Redis: the job mechanism's own tests drive it.

``tests.jobs.mark(key, hold_seconds)`` counts ``<key>:started``, holds its first run that long (so a
test can kill the worker in the middle), then counts ``<key>:done``. The sweep ``probe`` finds the keys
listed in ``probe:due`` every ``JOBS_PROBE_SWEEP_SECONDS``. Counts live in ``JOBS_PROBE_REDIS_URL``
(the suite's own Redis db).
"""

from __future__ import annotations

import os
import time
from datetime import datetime

import redis

from infrastructure.shared.jobs import Jobs, JobSource, TaskArgs, celery_app
from infrastructure.shared.platform import utc_now
from infrastructure.shared.settings import Settings

MARK = "tests.jobs.mark"


def probe_jobs() -> Jobs:
    counts = redis.Redis.from_url(os.environ.get("JOBS_PROBE_REDIS_URL", "redis://127.0.0.1:6379/3"))
    jobs = Jobs(utc_now)

    def mark(key: str, hold_seconds: float) -> None:
        if counts.incr(f"{key}:started") == 1 and hold_seconds:
            time.sleep(hold_seconds)
        counts.incr(f"{key}:done")

    def due(as_of: datetime) -> list[TaskArgs]:
        return [(key.decode(), 0) for key in counts.lrange("probe:due", 0, -1)]

    jobs.add_task(MARK, mark)
    jobs.add_sweep("probe", float(os.environ.get("JOBS_PROBE_SWEEP_SECONDS", "3600")), MARK, due)
    return jobs


def probe_app(settings: Settings | None = None) -> object:
    return celery_app(settings or Settings(), JobSource(probe_jobs, lambda: None))


def __getattr__(name: str) -> object:
    # `celery -A tests.integration.jobs_probe_app` looks up `app`; the worker's environment has its settings.
    if name != "app":
        raise AttributeError(name)
    return probe_app()
