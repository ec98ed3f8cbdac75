"""Keyed locks: a command that does something it cannot take back before it writes (a charge) holds its
stream's lock from the load to the save, so that two such commands on one stream run one after the
other, each deciding on what the other wrote.

The log's version check refuses the second of two racing saves, which is enough when a lost race costs
nothing. A charge made before the save is not undone by the refusal: without the lock, two racing
upgrades of one subscription to two plans were both charged and only one applied.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol
from uuid import UUID

from domain.shared.errors import ConcurrencyConflict

DEFAULT_WAIT_SECONDS = 10.0


def conflict() -> ConcurrencyConflict:
    return ConcurrencyConflict("Another change of this stream is being made; retry")


class KeyedLocks(Protocol):
    """``hold(key)`` waits for the key's lock and holds it for the block; a wait past the bound raises
    ``ConcurrencyConflict`` (answered 409: retry), so a stuck holder never piles requests up."""

    def hold(self, key: UUID) -> AbstractContextManager[None]: ...


class LocalLocks:
    """This process's locks: enough where one process writes (the embedded store, the in-memory one)."""

    def __init__(self, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self._wait_seconds = wait_seconds
        self._guard = threading.Lock()
        self._locks: dict[UUID, tuple[threading.Lock, int]] = {}  # a key's lock and how many hold or want it

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            lock = lock or threading.Lock()
            self._locks[key] = (lock, users + 1)
        try:
            if not lock.acquire(timeout=self._wait_seconds):
                raise conflict()
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._guard:
                _, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """Keys held or waited for (an idle table is empty)."""
        return len(self._locks)
