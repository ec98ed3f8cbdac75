"""The job registry, the in-process timer and the Celery settings built from Chronicle's (no broker needed)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from infrastructure.shared.jobs import (
    SWEEP_TASK,
    Jobs,
    JobSource,
    JobTimer,
    SweepScheduler,
    TaskArgs,
    UnknownJob,
    celery_app,
    celery_config,
)
from infrastructure.shared.settings import Settings, StartupRefused
from tests.conftest import eventually

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def registry(due: list[TaskArgs] | None = None) -> tuple[Jobs, list[tuple[Any, ...]]]:
    ran: list[tuple[Any, ...]] = []
    jobs = Jobs(lambda: NOW)
    jobs.add_task("chronicle.test.note", lambda *args: ran.append(args))
    jobs.add_sweep("notes", 60, "chronicle.test.note", lambda as_of: [(*args, as_of.isoformat()) for args in due or []])
    return jobs, ran


def test_a_sweep_hands_each_item_it_finds_to_the_dispatcher_with_its_task() -> None:
    jobs, _ = registry(due=[("a",), ("b",)])
    sent: list[tuple[str, TaskArgs]] = []

    found = jobs.sweep("notes", lambda task, args: sent.append((task, args)))

    assert found == 2
    assert sent == [("chronicle.test.note", ("a", NOW.isoformat())), ("chronicle.test.note", ("b", NOW.isoformat()))]


def test_running_the_sweeps_here_runs_every_task_found_in_this_process() -> None:
    jobs, ran = registry(due=[("a",)])
    later = datetime(2027, 1, 1, tzinfo=UTC)

    assert jobs.run_sweeps_now(as_of=later) == 1

    assert ran == [("a", later.isoformat())]


def test_a_failing_task_is_logged_and_the_sweep_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    jobs = Jobs(lambda: NOW)
    ran: list[str] = []

    def fragile(key: str) -> None:
        if key == "bad":
            raise RuntimeError("gateway down")
        ran.append(key)

    jobs.add_task("chronicle.test.fragile", fragile)
    jobs.add_sweep("fragile", 60, "chronicle.test.fragile", lambda as_of: [("bad",), ("good",)])

    jobs.run_sweeps_now()

    assert ran == ["good"]
    assert "job failed" in caplog.text


def test_a_name_registered_twice_is_refused() -> None:
    jobs, _ = registry()

    with pytest.raises(ValueError, match="twice"):
        jobs.add_task("chronicle.test.note", print)
    with pytest.raises(ValueError, match="twice"):
        jobs.add_sweep("notes", 60, "chronicle.test.note", lambda as_of: [])


def test_a_sweep_must_feed_a_registered_task_on_a_positive_interval() -> None:
    jobs, _ = registry()

    with pytest.raises(ValueError, match="not registered"):
        jobs.add_sweep("orphan", 60, "chronicle.test.missing", lambda as_of: [])
    with pytest.raises(ValueError, match="positive"):
        jobs.add_sweep("never", 0, "chronicle.test.note", lambda as_of: [])


def test_an_unknown_task_or_sweep_is_an_error_not_a_silent_no_op() -> None:
    jobs, _ = registry()

    with pytest.raises(UnknownJob):
        jobs.run("chronicle.test.missing", ())
    with pytest.raises(UnknownJob):
        jobs.sweep("missing", lambda task, args: None)


def test_the_timer_runs_each_sweep_on_its_interval_and_its_tasks_in_process() -> None:
    ran: list[str] = []
    jobs = Jobs(lambda: NOW)
    jobs.add_task("chronicle.test.tick", ran.append)
    jobs.add_sweep("ticks", 0.05, "chronicle.test.tick", lambda as_of: [("tick",)])
    stop = threading.Event()
    timer = JobTimer(jobs, stop, tick_seconds=0.01)

    timer.start()
    try:
        eventually(lambda: len(ran) >= 3, timeout=30)
    finally:
        stop.set()
        timer.join(timeout=10)

    count = len(ran)
    stop.wait(0.2)
    assert len(ran) == count  # stopped means stopped


def test_celery_delivers_at_least_once_and_survives_a_worker_lost_mid_task() -> None:
    config = celery_config(settings(redis_url="redis://127.0.0.1:6379/0"))

    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] > config["task_time_limit"]
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"


def test_the_broker_is_redis_url_unless_celery_broker_url_says_otherwise() -> None:
    assert celery_config(settings(redis_url="redis://cache:6379/0"))["broker_url"] == "redis://cache:6379/0"
    config = celery_config(settings(redis_url="redis://cache:6379/0", celery_broker_url="redis://jobs:6379/1"))
    assert config["broker_url"] == config["result_backend"] == "redis://jobs:6379/1"


def test_celery_without_any_redis_refuses_to_start() -> None:
    with pytest.raises(StartupRefused, match="CELERY_BROKER_URL or REDIS_URL"):
        celery_config(settings(redis_url=None))


def test_a_visibility_timeout_not_above_the_task_time_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="CELERY_TASK_TIME_LIMIT_SECONDS"):
        settings(celery_task_time_limit_seconds=600, celery_visibility_timeout_seconds=600)


def test_a_broker_url_that_is_not_redis_is_refused() -> None:
    with pytest.raises(ValidationError, match="redis://"):
        settings(celery_broker_url="amqp://guest@rabbit//")


def test_jobs_run_in_process_by_default_on_the_embedded_store_only(tmp_path: Path) -> None:
    assert settings(data_dir=tmp_path).jobs_run_in_process is True
    server = settings(database_url="postgresql://u@db:5432/c", jwt_secret="x" * 40, pii_master_key="p" * 40)
    assert server.jobs_run_in_process is False
    assert settings(data_dir=tmp_path, jobs_in_process=False).jobs_run_in_process is False


def test_beat_schedules_the_sweep_task_for_each_registered_sweep_on_its_interval() -> None:
    jobs, _ = registry()
    app = celery_app(settings(redis_url="redis://127.0.0.1:6379/0"), JobSource(lambda: jobs, lambda: None))

    schedule = SweepScheduler(app).schedule

    entry = schedule["sweep:notes"]
    assert (entry.task, tuple(entry.args), entry.schedule.run_every.total_seconds()) == (SWEEP_TASK, ("notes",), 60)


def test_a_subscription_advanced_again_at_the_same_as_of_gets_the_same_correlation_id() -> None:
    from infrastructure.subscriptions.jobs import advance_context

    subscription = uuid.uuid4()
    first = advance_context(subscription, NOW, now=NOW)
    again = advance_context(subscription, NOW, now=datetime(2026, 12, 2, tzinfo=UTC))

    assert first.correlation_id == again.correlation_id == first.causation_id
    assert advance_context(subscription, datetime(2027, 1, 1, tzinfo=UTC), NOW).correlation_id != first.correlation_id
    assert advance_context(uuid.uuid4(), NOW, NOW).correlation_id != first.correlation_id


def test_beat_closes_what_it_opened_to_read_the_schedule_but_not_what_a_worker_beside_it_uses() -> None:
    jobs, _ = registry()
    closed: list[bool] = []
    source = JobSource(lambda: jobs, lambda: closed.append(True))
    app = celery_app(settings(redis_url="redis://127.0.0.1:6379/0"), source)

    SweepScheduler(app)
    assert closed == [True] and not source.is_open

    source.jobs()  # a worker in the same process (celery worker -B) opened it
    SweepScheduler(app)
    assert closed == [True] and source.is_open
