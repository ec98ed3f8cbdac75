"""Shared fixtures: the real PostgreSQL and Redis (never skipped), and the embedded store."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.dependencies import models as fastapi_dependency_models
from fastapi.testclient import TestClient

from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.readstore import metadata
from infrastructure.shared.settings import Settings
from interfaces.http.app import create_app

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SUPERADMIN = ("admin@example.com", "Sup3r-Secret-Admin-1")
# A strong secret, as a server must be given one (the embedded store's own is tested on its own).
TEST_JWT_SECRET = "test-secret-0f5b8c2e9d7a4163b8e2c1d0a9f7e6b5"
# The master key of personal data, required with PostgreSQL like the signing secret.
# The followers that write to the log (policies), by name.
POLICIES = ("free_plan", "closed_accounts")

TEST_PII_MASTER_KEY = "test-pii-key-7c1e0d9b8a6f4e3d2c1b0a9f8e7d6c5b"
SUITE_RATE_LIMITS = {
    "rate_limit_anonymous_per_minute": 100_000,
    "rate_limit_credentials_per_minute": 100_000,
    "rate_limit_credentials_email_per_minute": 100_000,
    "rate_limit_account_per_minute": 100_000,
}

# The event store's tables, and every read-model table the container creates.
_TABLES = ("chronicle_events", "chronicle_snapshots", "pii_keys", *(table.name for table in metadata.sorted_tables))


# FastAPI keeps process-wide LRU caches (4,096 entries each) keyed by the callables of every app's routes and
# dependencies, holding them strongly. One app per process, as served, costs nothing; a suite that builds an app
# (and a Chronicle behind it) per test kept every one alive: 8.6 million tracked objects and 1.6 GB by the last
# e2e modules, full garbage collections of up to 7 s, and a fuzzed request past schemathesis' 10 s read timeout.
_FASTAPI_CALLABLE_CACHES = [
    cache for cache in vars(fastapi_dependency_models).values() if callable(getattr(cache, "cache_clear", None))
]


def release_app_caches() -> None:
    """Drop what FastAPI's caches hold of the apps built so far (tests/integration/test_app_lifetime.py)."""
    for cache in _FASTAPI_CALLABLE_CACHES:
        cache.cache_clear()


@pytest.fixture(autouse=True)
def _release_finished_apps() -> Iterator[None]:
    """Each test's apps (and the services they hold) are freed when it ends, not kept by FastAPI's caches."""
    yield
    release_app_caches()


@pytest.fixture(autouse=True)
def _root_logger_as_found() -> Iterator[None]:
    """A test that runs a CLI command (``configure_logging``) leaves the root logger as it found it: its handler
    wrote to the CLI runner's stream, closed when the command returned, and every later record failed on it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test database; an unreachable server fails the run, it never skips it."""
    try:
        with psycopg.connect(TEST_DATABASE_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at {TEST_DATABASE_URL} is not reachable: {error}", pytrace=False)
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {TEST_REDIS_URL} is not reachable: {error}", pytrace=False)
    return TEST_REDIS_URL


def wipe_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        existing = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)", (list(_TABLES),)
            )
        ]
        if existing:
            conn.execute(f"TRUNCATE {', '.join(existing)} RESTART IDENTITY CASCADE")


def eventually(what: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02) -> Any:
    """``what()`` once it is truthy; fails past ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout} s")


def policies_settled(container: Chronicle) -> None:
    """Wait until the policies that write to the log (the free-plan policy subscribes each new account, the
    closed-accounts policy ends a closed account's subscription) have followed it to its head: a test that
    counts, tampers with or pages the stored log sees a quiet log."""
    # The board, not the stored positions: a follower passes over entries it does not handle in memory at once
    # and writes that position within a second (runner.py), and every test here runs its followers in-process.
    eventually(lambda: all(container.board.known(name) >= container.head_position() for name in POLICIES))


class Ticks:
    """A monotonic clock (seconds) the test moves by hand: ``ticks.now += 20``."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Clock:
    """A clock the test moves by hand; commands read it through the container."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(tmp_path: Path, database_url: str | None, redis_url: str | None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "mail_dir": tmp_path / "mail",
        "redis_url": redis_url,
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 1024,
        "argon2_parallelism": 1,
        "run_projections_in_process": True,
        "jwt_secret": TEST_JWT_SECRET,
        "pii_master_key": TEST_PII_MASTER_KEY,
        "projection_poll_seconds": 0.2,
        "superadmin_email": SUPERADMIN[0],
        "superadmin_password": SUPERADMIN[1],
        # Each test counts its own requests; the suite's many logins and registrations from one test
        # client stay under these. tests/e2e/test_rate_limits.py runs with the production defaults.
        "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}",
        **SUITE_RATE_LIMITS,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["postgres", "embedded"])
def store(request: pytest.FixtureRequest) -> str:
    """Runs a test once against PostgreSQL and once against the embedded SQLite store."""
    return str(request.param)


@pytest.fixture
def settings(store: str, tmp_path: Path, request: pytest.FixtureRequest, redis_url: str) -> Settings:
    database_url = None
    if store == "postgres":
        database_url = request.getfixturevalue("postgres_url")
        wipe_postgres(database_url)
    # Like the tables: what a test leaves in the test Redis (login failures of unknown emails) is gone.
    redis.Redis.from_url(redis_url).flushdb()
    overrides = getattr(request, "param", {})
    return make_settings(tmp_path, database_url, redis_url, **overrides)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def adapters() -> Adapters:
    """What the container uses instead of the adapters built from settings: none here; a test module overrides it."""
    return Adapters()


@pytest.fixture
def container(settings: Settings, clock: Clock, adapters: Adapters) -> Iterator[Chronicle]:
    container = Chronicle(settings, clock=clock, adapters=adapters)
    container.start()
    try:
        yield container
    finally:
        container.close()


@pytest.fixture
def client(container: Chronicle) -> Iterator[TestClient]:
    with TestClient(create_app(root=container), raise_server_exceptions=False) as test_client:
        yield test_client
