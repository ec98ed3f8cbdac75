"""The read store's pool on PostgreSQL: a checkout costs no round trip (no ping), and a pooled connection the
server has ended is replaced before use, so the statement that follows runs on a fresh one."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from infrastructure.shared.readstore import create_read_engine


def read_url(postgres_url: str) -> str:
    return postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_a_checkout_sends_nothing_to_the_server(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_read_engine(read_url(postgres_url), pool_size=2)
    pings: list[Any] = []

    def ping(connection: Any) -> bool:
        pings.append(connection)
        return True

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    try:
        for _ in range(20):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
    assert pings == []


def test_a_pooled_connection_the_server_ended_is_replaced_before_the_next_statement(postgres_url: str) -> None:
    engine = create_read_engine(read_url(postgres_url), pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a server restart ends every session
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            deadline = time.monotonic() + 10
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (first,)).fetchone():
                assert time.monotonic() < deadline
                time.sleep(0.02)
        time.sleep(0.1)  # the server's goodbye reaches the pooled socket

        with engine.connect() as conn:
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    finally:
        engine.dispose()
    assert second != first
