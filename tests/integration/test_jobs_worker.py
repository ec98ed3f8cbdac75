"""The job mechanism on a real Celery worker process and the local Redis: delivery, sweeps, a worker's death."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from infrastructure.shared.jobs import SWEEP_TASK
from infrastructure.shared.settings import Settings
from tests.conftest import eventually
from tests.integration.celery_workers import CeleryWorkers
from tests.integration.jobs_probe_app import MARK, probe_app


@pytest.fixture
def counts(redis_url: str, celery_env: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    celery_env["JOBS_PROBE_REDIS_URL"] = redis_url
    yield client
    client.close()


@pytest.fixture
def sender(celery_env: dict[str, str]) -> Celery:
    """The test's side of the broker: the same app, configured like the workers."""
    app = probe_app(Settings(**{name.lower(): value for name, value in celery_env.items()}))  # type: ignore[arg-type]
    assert isinstance(app, Celery)
    return app


def count(counts: redis.Redis, key: str) -> int:
    return int(counts.get(key) or 0)


def test_a_worker_process_runs_a_task_sent_through_the_broker(
    workers: CeleryWorkers, sender: Celery, counts: redis.Redis
) -> None:
    workers.start("tests.integration.jobs_probe_app", ready=sender)
    key = uuid.uuid4().hex

    sender.send_task(MARK, args=[key, 0])

    eventually(lambda: count(counts, f"{key}:done") == 1, timeout=60)
    assert count(counts, f"{key}:started") == 1


def test_a_sweep_sends_one_task_per_item_it_finds(workers: CeleryWorkers, sender: Celery, counts: redis.Redis) -> None:
    keys = [uuid.uuid4().hex for _ in range(3)]
    counts.rpush("probe:due", *keys)
    workers.start("tests.integration.jobs_probe_app", ready=sender)

    sender.send_task(SWEEP_TASK, args=["probe"])

    eventually(lambda: all(count(counts, f"{key}:done") == 1 for key in keys), timeout=60)
    assert [count(counts, f"{key}:started") for key in keys] == [1, 1, 1]


def test_a_task_whose_worker_is_killed_mid_way_runs_again_on_a_new_worker(
    workers: CeleryWorkers, sender: Celery, counts: redis.Redis
) -> None:
    first = workers.start("tests.integration.jobs_probe_app", ready=sender)
    key = uuid.uuid4().hex
    sender.send_task(MARK, args=[key, 600])
    eventually(lambda: count(counts, f"{key}:started") == 1, timeout=60)

    workers.kill(first)
    workers.start("tests.integration.jobs_probe_app", ready=sender)

    # Back in the queue once the visibility timeout (6 s here) has passed since delivery.
    eventually(lambda: count(counts, f"{key}:done") == 1, timeout=90)
    assert count(counts, f"{key}:started") == 2
    time.sleep(1)
    assert count(counts, f"{key}:done") == 1


def test_beat_sends_each_sweep_on_its_interval_and_answers_the_health_ping(
    workers: CeleryWorkers, celery_env: dict[str, str], sender: Celery, counts: redis.Redis
) -> None:
    celery_env["JOBS_PROBE_SWEEP_SECONDS"] = "1"
    key = uuid.uuid4().hex
    counts.rpush("probe:due", key)
    workers.start("tests.integration.jobs_probe_app", ready=sender)

    beat = workers.start_beat("tests.integration.jobs_probe_app", ready=sender)

    # Each sweep finds the key again: the task runs once per sweep (a real task finds nothing left to do).
    eventually(lambda: count(counts, f"{key}:done") >= 2, timeout=90)
    assert sender.control.ping(destination=[beat.node], timeout=2.0)
