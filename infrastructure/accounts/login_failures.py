"""Failed logins of emails without a usable account, outside the log: Redis when configured, else memory.

The lockout rule itself is the domain's (``LoginFailures``); these only keep its state per email,
under a keyed hash of the normalized email (Redis never holds an address), and apply a change
atomically, so concurrent attempts are counted like an account's (one after the other).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis

from application.accounts.ports import LoginFailuresChange
from domain.accounts.values import LoginFailures
from infrastructure.shared.breaker import Breaker

log = logging.getLogger("chronicle.accounts")

# An account keeps its count until a login succeeds; an unknown email's count is kept this long
# after its last failure (long beyond a lockout, so the two cannot be told apart in practice).
RETENTION = timedelta(days=30)
_MEMORY_ENTRIES = 100_000
_WATCH_ATTEMPTS = 20


class MemoryLoginFailures:
    """In this process only (the embedded store's single process); the oldest entries go first past a bound."""

    def __init__(self, max_entries: int = _MEMORY_ENTRIES) -> None:
        self._states: OrderedDict[str, LoginFailures] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def update(self, email_key: str, change: LoginFailuresChange) -> LoginFailures:
        with self._lock:
            state = change(self._states.get(email_key, LoginFailures()))
            self._states[email_key] = state
            self._states.move_to_end(email_key)
            while len(self._states) > self._max_entries:
                self._states.popitem(last=False)
            return state


class RedisLoginFailures:
    """Shared by every API replica: WATCH/MULTI per email; when Redis fails, this process's memory counts."""

    def __init__(
        self, client: Callable[[], Any], key: bytes, breaker: Breaker, fallback: MemoryLoginFailures | None = None
    ) -> None:
        self._client = client
        self._key = key
        self._breaker = breaker
        self._fallback = fallback or MemoryLoginFailures()

    def _redis_key(self, email_key: str) -> str:
        digest = hmac.new(self._key, email_key.encode(), hashlib.sha256).hexdigest()
        return f"chronicle:login-failures:{digest}"

    def update(self, email_key: str, change: LoginFailuresChange) -> LoginFailures:
        return self._breaker.attempt(
            lambda: self._update(self._redis_key(email_key), change),
            lambda: self._fallback.update(email_key, change),
            "login failures are counted in this process's memory",
        )

    def _update(self, key: str, change: LoginFailuresChange) -> LoginFailures:
        client = self._client()
        for _ in range(_WATCH_ATTEMPTS):
            with client.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    state = change(_decode(pipe.get(key)))
                    pipe.multi()
                    pipe.set(key, _encode(state), ex=int(RETENTION.total_seconds()))
                    pipe.execute()
                    return state
                except redis.WatchError:
                    continue
        raise redis.RedisError("too much contention on one email's login failures")


def _encode(state: LoginFailures) -> str:
    until = state.locked_until.isoformat() if state.locked_until else None
    return json.dumps({"failures": state.failures, "locked_until": until})


def _decode(raw: bytes | None) -> LoginFailures:
    if raw is None:
        return LoginFailures()
    data = json.loads(raw)
    until = data.get("locked_until")
    return LoginFailures(int(data["failures"]), datetime.fromisoformat(until) if until else None)
