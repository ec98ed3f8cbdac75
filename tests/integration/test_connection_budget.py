"""The connection budget: what one process may hold, bounded waits for a pooled connection, URL parameters."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError
from sqlalchemy import Engine, QueuePool, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from infrastructure.root import Chronicle
from tests.conftest import make_settings
from tests.integration.conftest import ContainerFactory

# The compose stack of the README's "Connection budget": processes of each kind, and what they may hold together.
STACK = {"api": 2, "projector": 1, "worker": 2, "cli": 1}
BUDGET = 80  # of PostgreSQL's default max_connections=100, leaving room for psql, backups and monitoring
LISTENER = 1  # the LISTEN connection a started process keeps
LEASES = 1  # the projector's advisory-lock connection (one active worker per projection)
STREAM_LOCKS = 1  # every process's advisory-lock connection for the commands that charge (opened at the first)
REBUILD = 1  # a process running a rebuild holds its advisory lock on one more (one rebuilding process at a time)


def most(engine: Engine) -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.size() + pool._max_overflow


def most_connections(container: Chronicle) -> int:
    """The most PostgreSQL connections this process can hold: every pool full, its listener and its stream locks."""
    event_store = container.log.recorder.datastore.pool.max_size  # type: ignore[attr-defined]
    pools = int(event_store) + most(container.read_engine) + most(container.write_engine)
    return pools + LISTENER + STREAM_LOCKS


def test_with_the_default_pools_the_whole_compose_stack_fits_the_budget(container: Chronicle) -> None:
    per_process = most_connections(container)

    assert per_process * sum(STACK.values()) + LEASES + REBUILD <= BUDGET, per_process


def test_a_request_finding_every_read_connection_busy_waits_the_pool_timeout_and_no_longer(
    make_container: ContainerFactory,
) -> None:
    container = make_container(read_pool_size=1, pool_timeout_seconds=3)
    with container.read_engine.connect():  # the only one, busy
        started = time.monotonic()
        with pytest.raises(PoolTimeout):
            container.read_engine.connect()
        waited = time.monotonic() - started

    assert 2.9 <= waited < 4.5


def test_a_command_finding_every_event_store_connection_busy_waits_the_pool_timeout_and_no_longer(
    make_container: ContainerFactory,
) -> None:
    container = make_container(postgres_pool_size=1, postgres_max_overflow=0, pool_timeout_seconds=3)
    pool = container.log.recorder.datastore.pool  # type: ignore[attr-defined]
    busy = pool.getconn()
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError):
            container.log.recorder.max_notification_id()
        waited = time.monotonic() - started
    finally:
        pool.putconn(busy)

    assert 2.5 <= waited < 4.5  # the library's retries included


def test_every_connection_carries_the_parameters_of_the_database_url(postgres_url: str, tmp_path: Path) -> None:
    name = f"chronicle-{uuid4().hex[:8]}"
    settings = make_settings(tmp_path, f"{postgres_url}?application_name={name}", None, superadmin_email=None)
    container = Chronicle(settings)
    container.open()
    show = "SELECT current_setting('application_name') AS name"
    try:
        with container.log.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            event_store = conn.execute(show).fetchone()
        with container.read_engine.connect() as conn:
            read_store = conn.execute(text(show)).scalar_one()
    finally:
        container.close()

    assert event_store is not None and event_store["name"] == name
    assert read_store == name
