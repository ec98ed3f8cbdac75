"""A circuit breaker for a store the request path may do without (Redis): after a failure it is
skipped for a while, so an outage costs one short timeout, not one per request; logged once per outage.

One breaker per store and process, shared by everything that calls it while answering a request
(the rate limiter, the login-failure counts): when one of them finds Redis gone, the others skip it
at once too. Each goes through ``attempt``, which takes the fallback whenever the store fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

T = TypeVar("T")

# What a call through the Redis client raises when the store fails. Besides its own errors the client
# lets an OSError or a ValueError out when a connection is cut while in use ("I/O operation on closed
# file" from a pooled connection's read buffer, seen by a fresh-clone CI run under 20 racing requests
# with the 50 ms request timeout): those are the store failing too, never a reason to answer 500.
REDIS_FAILURES: tuple[type[Exception], ...] = (redis.RedisError, OSError, ValueError)

log = logging.getLogger("chronicle")


class Breaker:
    """Open for ``seconds`` after a failure; ``closed`` says whether to try the store now."""

    def __init__(self, store: str, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.seconds = seconds
        self._clock = clock
        self._skip_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._clock() >= self._skip_until

    def failed(self, cause: str, consequence: str) -> None:
        """The store failed (``cause``: the error's class name); ``consequence`` says what happens meanwhile."""
        with self._lock:
            self._skip_until = self._clock() + self.seconds
            first = not self._down
            self._down = True
        if first:
            log.warning("%s cannot be reached (%s): %s", self.store, cause, consequence)

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.warning("%s answers again", self.store)

    def attempt(self, call: Callable[[], T], fallback: Callable[[], T], consequence: str) -> T:
        """``call()`` while the breaker is closed; ``fallback()`` while it is open or when the call fails
        (which opens it; ``consequence`` says what the fallback means, for the log)."""
        if not self.closed:
            return fallback()
        try:
            result = call()
        except REDIS_FAILURES as error:
            self.failed(type(error).__name__, consequence)
            return fallback()
        self.succeeded()
        return result
