"""The log's head as this process has seen it, and whether a projection is too far behind it to decide on.

A decision that must not rest on stale state (authorization: a revoked session, a suspended account)
asks ``behind(projection)``. The rule does not depend on load: a projection is behind when it has not
reached the head of the log as it was ``max_lag_seconds`` ago. A projection under a burst catches up
within that time; one that failed, or is blocked or not running, never moves, so it becomes behind
``max_lag_seconds`` after the first event it did not apply, and stays so until it has caught up again.

Cheap per request: the head is sampled in the background (one round trip per ``sample_seconds``),
the projections' positions come from the ``PositionBoard`` (NOTIFY on PostgreSQL, in-process
otherwise), and only a projection the board shows behind costs a read of its stored position, at
most once per ``recheck_seconds``. This is the one place such a verdict is made; a projection's
durable ``failed`` state, once the tracking records it, belongs here too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from infrastructure.shared.runner import PositionBoard

log = logging.getLogger("chronicle.logwatch")


class LogWatch:
    """Samples the log's head; answers the head and whether a projection lags too far behind it."""

    def __init__(
        self,
        board: PositionBoard,
        read_head: Callable[[], int],
        *,
        max_lag_seconds: float,
        sample_seconds: float = 0.5,
        recheck_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.max_lag_seconds = max_lag_seconds
        self.sample_seconds = sample_seconds
        self.recheck_seconds = recheck_seconds
        self._read_head = read_head
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()  # (when, head), oldest first
        self._verdicts: dict[str, tuple[float, bool]] = {}  # name -> (valid until, behind)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the head -------------------------------------------------------------------------

    def sample(self) -> int:
        """Read the head now and remember when; keeps only the samples a verdict can still need."""
        head = self._read_head()
        with self._lock:
            now = self._clock()  # taken under the lock, so samples stay in order
            self._samples.append((now, head))
            horizon = now - self.max_lag_seconds
            # The newest sample at or before the horizon is the one a verdict compares with; older ones go.
            while len(self._samples) > 1 and self._samples[1][0] <= horizon:
                self._samples.popleft()
        return head

    def head(self, at_least: int = 0) -> int:
        """The log's head: the last sample, read again when the caller knows of a position beyond it."""
        with self._lock:
            last = self._samples[-1][1] if self._samples else None
        if last is not None and last >= at_least:
            return last
        return self.sample()

    # --- the verdict --------------------------------------------------------------------------

    def behind(self, name: str) -> bool:
        """Whether ``name`` has not reached the head as it was ``max_lag_seconds`` ago.

        False while this process has watched the head for less than that (nothing to compare with).
        """
        now = self._clock()
        with self._lock:
            cached = self._verdicts.get(name)
            if cached is not None and now < cached[0]:
                return cached[1]
            target = self._head_as_of(now - self.max_lag_seconds)
        # The board answers from memory; only when it shows ``name`` behind is the stored position read.
        verdict = target is not None and not self.board.wait(name, target, 0)
        with self._lock:
            self._verdicts[name] = (now + self.recheck_seconds, verdict)
        return verdict

    def _head_as_of(self, instant: float) -> int | None:
        seen = None
        for when, head in self._samples:
            if when > instant:
                break
            seen = head
        return seen

    # --- the sampler ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="chronicle-logwatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # an outage: the last samples stay; the next round tries again
                log.warning("could not read the log's head", exc_info=True)
            if self._stop.wait(self.sample_seconds):
                return
