"""The rate limiter's fixed windows in memory: a window opens at its first request and lasts its quota's
window, counts are per key, ended windows are dropped, and counting starts no thread."""

from __future__ import annotations

import threading

import pytest
import redis

from infrastructure.shared.breaker import Breaker
from infrastructure.shared.ratelimit import MemoryWindows, Quota, RateLimiter
from tests.conftest import Ticks


def test_a_window_counts_from_its_first_request_until_it_ends_then_starts_again() -> None:
    clock = Ticks()
    windows = MemoryWindows(clock)

    assert windows.count("a", 60) == (1, 60.0)
    clock.now += 20
    assert windows.count("a", 60) == (2, 40.0)
    assert windows.count("b", 60) == (1, 60.0)  # another key, its own window
    clock.now += 40  # the first window has ended
    assert windows.count("a", 60) == (1, 60.0)


def test_the_limiter_allows_the_quota_then_refuses_saying_what_is_left_and_when_it_resets() -> None:
    clock = Ticks()
    limiter = RateLimiter(MemoryWindows(clock), Breaker("Redis", 5))
    quota = Quota("account", 3, 60)

    usages = [limiter.hit(quota, "ada") for _ in range(4)]

    assert [(u.allowed, u.remaining, u.reset_after) for u in usages if u] == [
        (True, 2, 60),
        (True, 1, 60),
        (True, 0, 60),
        (False, 0, 60),
    ]
    clock.now += 59.5
    after = limiter.hit(quota, "ada")
    assert after is not None and (after.allowed, after.reset_after) == (False, 1)  # rounded up, never 0 early
    assert limiter.hit(quota, "bob") is not None  # per identifier
    changed = limiter.hit(Quota("account", 10, 60), "ada")  # a changed quota starts its own window
    assert changed is not None and changed.remaining == 9


def test_ended_windows_are_swept_so_the_table_holds_about_one_window_of_keys() -> None:
    clock = Ticks()
    windows = MemoryWindows(clock)
    for n in range(MemoryWindows.SWEEP_EVERY):
        windows.count(f"address-{n}", 60)
    clock.now += 61
    for n in range(MemoryWindows.SWEEP_EVERY):
        windows.count(f"other-{n}", 60)

    assert len(windows) <= MemoryWindows.SWEEP_EVERY


def test_counting_starts_no_thread() -> None:
    # The library counter this replaced started a timer thread whenever the last had ended (every 10 ms).
    windows = MemoryWindows()
    before = threading.active_count()
    for n in range(200):
        windows.count(f"k{n % 7}", 60)
    assert threading.active_count() == before


class _CutWindows:
    """Counters whose store fails the way the Redis client was seen to, ``error`` on every call."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def count(self, key: str, window: int) -> tuple[int, float]:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("Connection refused"),
        redis.TimeoutError("Timeout reading from socket"),
        ValueError("I/O operation on closed file."),  # a pooled connection cut under a racing request
        OSError(9, "Bad file descriptor"),
    ],
    ids=type,
)
def test_a_failing_store_lets_requests_pass_and_is_skipped_until_the_breaker_closes(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Ticks()
    windows = _CutWindows(error)
    limiter = RateLimiter(windows, Breaker("Redis", 5, clock))
    quota = Quota("address", 3, 60)

    assert [limiter.hit(quota, "ada") for _ in range(3)] == [None, None, None]
    assert windows.calls == 1  # skipped while the breaker is open
    clock.now += 5
    assert limiter.hit(quota, "ada") is None
    assert windows.calls == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"Redis cannot be reached ({type(error).__name__}): rate limits are not enforced; requests are served"
    ]


def test_an_error_that_is_not_the_stores_is_not_taken_for_an_outage() -> None:
    limiter = RateLimiter(_CutWindows(KeyError("a bug")), Breaker("Redis", 5, Ticks()))

    with pytest.raises(KeyError):
        limiter.hit(Quota("address", 3, 60), "ada")
