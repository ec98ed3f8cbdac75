"""The rate limiter's fixed windows in memory: a window opens at its first request and lasts its quota's
window, counts are per key, ended windows are dropped, and counting starts no thread."""

from __future__ import annotations

import threading

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
