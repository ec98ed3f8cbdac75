"""An unknown email's failed logins in Redis: shared by replicas, atomic, and counted in memory when Redis is down."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest
import redis

from domain.accounts.errors import AccountLocked
from domain.accounts.values import LoginFailures, LoginPolicy
from infrastructure.accounts.login_failures import MemoryLoginFailures, RedisLoginFailures
from infrastructure.shared.breaker import Breaker
from tests.unit.builders import NOW

POLICY = LoginPolicy()
KEY = b"integration-test-key-0123456789ab"


def _fail(state: LoginFailures) -> LoginFailures:
    state.check_not_locked(NOW)
    return state.after_failure(NOW, POLICY)


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def test_two_replicas_count_one_unknown_emails_failures_together(client: redis.Redis) -> None:
    email = f"{uuid4().hex}@example.com"
    first, second = (
        RedisLoginFailures(lambda: client, KEY, Breaker("Redis", 5)),
        RedisLoginFailures(lambda: client, KEY, Breaker("Redis", 5)),
    )
    for counter in (first, second, first, second):
        counter.update(email, _fail)

    locked = second.update(email, _fail)

    assert locked == LoginFailures(0, NOW + POLICY.lockout)
    with pytest.raises(AccountLocked):
        first.update(email, _fail)


def test_concurrent_failures_of_one_email_are_all_counted(client: redis.Redis) -> None:
    email = f"{uuid4().hex}@example.com"
    counter = RedisLoginFailures(lambda: client, KEY, Breaker("Redis", 5))
    policy = LoginPolicy(max_failures=1000)
    threads = [
        threading.Thread(target=lambda: counter.update(email, lambda s: s.after_failure(NOW, policy)))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert counter.update(email, lambda s: s).failures == 20


def test_with_redis_down_failures_are_counted_in_memory() -> None:
    down = redis.Redis.from_url("redis://127.0.0.1:6390/0", socket_connect_timeout=0.5)
    memory = MemoryLoginFailures()
    counter = RedisLoginFailures(lambda: down, KEY, Breaker("Redis", 5), fallback=memory)
    for _ in range(POLICY.max_failures):
        counter.update("nobody@example.com", _fail)

    with pytest.raises(AccountLocked):
        counter.update("nobody@example.com", _fail)


def test_a_connection_cut_in_use_counts_in_memory_rather_than_failing_the_login(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py up to 8.1 let ``ValueError: I/O operation on closed file`` out of a pooled connection that
    another thread had cut in use (8.2 reconnects instead). The counter must survive it whichever version
    runs, so the error is raised where those versions raised it: reading the answer."""

    def cut(self: redis.connection.AbstractConnection, *args: object, **kwargs: object) -> object:
        raise ValueError("I/O operation on closed file.")

    monkeypatch.setattr(redis.connection.Connection, "read_response", cut)
    with pytest.raises(ValueError, match="closed file"):
        client.get("k")  # what the client lets out, which the counter must survive
    memory = MemoryLoginFailures()
    counter = RedisLoginFailures(lambda: client, KEY, Breaker("Redis", 5), fallback=memory)

    assert counter.update("nobody@example.com", _fail).failures == 1
    assert memory.update("nobody@example.com", lambda s: s).failures == 1
