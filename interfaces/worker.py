"""Chronicle's Celery application, for ``chronicle worker`` / ``chronicle beat`` and the ``celery`` command:

    celery -A interfaces.worker worker --pool=solo -n chronicle@%h     # what `chronicle worker` runs
    celery -A interfaces.worker beat                                   # what `chronicle beat` runs
    celery -A interfaces.worker inspect ping -d chronicle@$HOSTNAME     # the worker's health check

Importing this module connects to nothing: a worker opens the composition root when it starts (and
closes it when it stops), beat when it builds its schedule.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from application.shared.commands import Clock
from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.jobs import Jobs, JobSource, celery_app
from infrastructure.shared.platform import utc_now
from infrastructure.shared.settings import Settings


def create_celery(settings: Settings | None = None, adapters: Adapters | None = None, clock: Clock = utc_now) -> Celery:
    """The Celery app over a Chronicle built from ``settings`` (default: the environment) when first needed."""
    settings = settings or Settings()
    opened: list[Chronicle] = []

    def open_jobs() -> Jobs:
        chronicle = Chronicle(settings, clock=clock, adapters=adapters)
        chronicle.open()
        opened.append(chronicle)
        return chronicle.jobs

    def close() -> None:
        while opened:
            opened.pop().close()

    return celery_app(settings, JobSource(open_jobs, close))


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    # `celery -A interfaces.worker` looks up `app`: built on that first use, from the environment.
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_celery()
    return _app
