"""Holding one projection back in a running container: it stops before its next batch until released."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.root import Chronicle
from infrastructure.shared.runner import Freshness


class Hold:
    def __init__(self, container: Chronicle) -> None:
        self.container = container
        self.gate = threading.Event()
        self.entered = threading.Event()

    def release(self) -> None:
        self.gate.set()

    def release_when(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Release once ``condition`` holds (polled); fails the test if it never does."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "the condition to release the projection never held"
            time.sleep(0.01)
        self.release()

    def release_when_waited_on(self) -> None:
        """Release once a request waits for a projection to catch up (so the test shows it waited)."""
        freshness: Freshness = self.container.services[Freshness]
        self.release_when(lambda: freshness.waiting >= 1)


@contextmanager
def hold_back(container: Chronicle, name: str) -> Iterator[Hold]:
    """While inside, the ``name`` runner applies nothing: what is written now stays unprojected."""
    runner = container.runners[name]
    original = runner.run_once
    hold = Hold(container)

    def held(*args: Any, **kwargs: Any) -> int:
        hold.entered.set()
        hold.gate.wait()
        return original(*args, **kwargs)

    runner.run_once = held  # type: ignore[method-assign]
    try:
        # Once the runner comes round to a held batch, a batch it had in hand has committed.
        runner.wake.set()
        assert hold.entered.wait(5.0), f"the {name} runner did not come round"
        yield hold
    finally:
        del runner.run_once
        hold.release()
