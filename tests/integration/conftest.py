"""Fixtures for integration tests: containers on the real PostgreSQL, driven by hand."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import select

from application.shared.commands import CommandContext, CommandResult
from domain.accounts.values import Profile
from infrastructure.accounts.tables import account_roles, accounts, sessions
from infrastructure.root import Chronicle
from tests.conftest import TEST_DATABASE_URL, Clock, make_settings
from tests.integration.celery_workers import broker_url, celery_env, workers  # noqa: F401 - fixtures

PASSWORD = "Passw0rd!"

ContainerFactory = Callable[..., Chronicle]


def _private_database_url() -> str:
    """A database of its own beside ``TEST_DATABASE_URL``: other suites share (and wipe) that one."""
    explicit = os.environ.get("TEST_INTEGRATION_DATABASE_URL")
    if explicit:
        return explicit
    params = conninfo_to_dict(TEST_DATABASE_URL)
    name = f"{params.get('dbname') or 'test'}_integration"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # another run created it first
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _as_url({**params, "dbname": name})


def _as_url(params: dict[str, Any]) -> str:
    user = params.get("user") or "postgres"
    password = f":{params['password']}" if params.get("password") else ""
    host, port = params.get("host") or "127.0.0.1", params.get("port") or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{params['dbname']}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Overrides the shared fixture: the integration suite runs in its own database."""
    try:
        return _private_database_url()
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at {TEST_DATABASE_URL} is not reachable: {error}", pytrace=False)


def wipe_database(url: str) -> None:
    """Empties every table of the (private) database, whatever the event store named its tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if tables:
            names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_container(tmp_path: Path, postgres_url: str, redis_url: str, clock: Clock) -> Iterator[ContainerFactory]:
    """Builds containers on a freshly wiped database and Redis; projections run only when a test drives them."""
    wipe_database(postgres_url)
    redis.Redis.from_url(redis_url).flushdb()  # counts left by other tests (rate limits, login failures)
    built: list[Chronicle] = []

    def build(**overrides: Any) -> Chronicle:
        values: dict[str, Any] = {"run_projections_in_process": False, "superadmin_email": None}
        values.update(overrides)
        redis_at = values.pop("redis_url", redis_url)
        container = Chronicle(make_settings(tmp_path, postgres_url, redis_at, **values), clock=clock)
        built.append(container)
        container.open()  # connected and wired, as the tests drive it; no threads until ``start()``
        return container

    try:
        yield build
    finally:
        for container in reversed(built):
            container.close()


@pytest.fixture
def container(make_container: ContainerFactory) -> Chronicle:
    return make_container()


def context(clock: Clock, actor: str = "integration-test") -> CommandContext:
    correlation = str(uuid4())
    return CommandContext(actor=actor, correlation_id=correlation, causation_id=correlation, now=clock())


def register_result(container: Chronicle, clock: Clock, email: str, **kwargs: Any) -> CommandResult:
    return container.accounts.register_account(
        context(clock),
        email=email,
        password=PASSWORD,
        profile=Profile(first_name="Ada", last_name="Lovelace"),
        **kwargs,
    )


def register(container: Chronicle, clock: Clock, email: str, **kwargs: Any) -> UUID:
    return register_result(container, clock, email, **kwargs).id


def table_rows(container: Chronicle, table: Any) -> list[tuple[Any, ...]]:
    """Every row of ``table``, sorted, as plain tuples."""
    with container.read_engine.connect() as conn:
        return sorted((tuple(row) for row in conn.execute(select(table))), key=lambda row: tuple(map(str, row)))


def read_model_rows(container: Chronicle) -> dict[str, list[tuple[Any, ...]]]:
    return {table.name: table_rows(container, table) for table in (accounts, account_roles, sessions)}


def account_versions(container: Chronicle) -> dict[UUID, int]:
    with container.read_engine.connect() as conn:
        return {row.id: row.version for row in conn.execute(select(accounts.c.id, accounts.c.version))}
