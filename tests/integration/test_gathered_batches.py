"""A live follower set to gather folds the commands saved after its previous batch began into one batch.

Every save wakes the followers of the process; each wake costs every follower that handles the new entries a
read-model transaction of its own. With ``gather_seconds`` (``PROJECTION_GATHER_SECONDS``, off by default)
the live loop starts a pass no sooner than that long after the previous one began, if that one brought
entries, so under load many commands share one transaction; a follower whose last pass brought nothing
applies a new entry at once.
"""

from __future__ import annotations

import threading
import time

from infrastructure.root import Chronicle
from tests.conftest import Clock, eventually
from tests.integration.conftest import register

GATHER = 2.0


def test_what_is_saved_soon_after_a_batch_waits_for_one_batch_and_an_idle_follower_applies_at_once(
    container: Chronicle, clock: Clock
) -> None:
    accounts = container.runners["accounts"]
    assert accounts.gather_seconds == 0  # off unless set
    accounts.gather_seconds = GATHER
    accounts.poll_seconds = 30.0  # no fallback poll in between: only the saves wake it
    accounts.catch_up()
    batches: list[int] = []  # entries consumed by each pass of the live loop that consumed any
    advance = accounts.advance

    def recording(*, defer: bool = False) -> int:
        consumed = advance(defer=defer)
        if consumed:
            batches.append(consumed)
        return consumed

    accounts.advance = recording  # type: ignore[method-assign]
    stop = threading.Event()
    loop = threading.Thread(target=accounts.run, args=(stop,), daemon=True)
    loop.start()
    try:
        before = container.head_position()
        register(container, clock, "gather-0@example.com")
        saved = time.monotonic()
        first = container.head_position()
        eventually(lambda: container.board.known("accounts") >= first, timeout=5)
        # Idle until this save: applied at once, not held back for the gathering.
        assert time.monotonic() - saved < GATHER / 2

        for n in range(1, 4):
            register(container, clock, f"gather-{n}@example.com")
        assert time.monotonic() - saved < GATHER, "the saves took longer than the gathering: no test"
        last = container.head_position()
        eventually(lambda: container.board.known("accounts") >= last, timeout=5 + GATHER)

        assert batches == [first - before, last - first]
        assert container.stored_position("accounts") == last
    finally:
        stop.set()
        accounts.wake.set()
        loop.join(5)
