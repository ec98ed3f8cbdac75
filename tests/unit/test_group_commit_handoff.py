"""Group commit's queue without a database: who leads each group, who is woken, what each caller hears."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from infrastructure.shared.group_commit import GroupCommitRecorder, _Insert


class HeldRecorder(GroupCommitRecorder):
    """The queue and hand-off of ``GroupCommitRecorder``; each group's write waits until the test lets it go."""

    def __init__(self) -> None:  # no datastore: only the queue's own state
        self._lock = threading.Lock()
        self._queue: list[_Insert] = []
        self._writing = False
        self.groups: list[tuple[str, list[int]]] = []  # the leading thread, and the group's first versions
        self.release: list[threading.Event] = []
        self.fail_group: int | None = None

    def _write(self, group: list[_Insert]) -> None:
        go = threading.Event()
        self.release.append(go)
        self.groups.append((threading.current_thread().name, [i.events[0].originator_version for i in group]))
        assert go.wait(10)
        number = len(self.groups)
        for insert in group:
            if number == self.fail_group:
                insert.error = IntegrityError("conflict")
            else:
                insert.ids = [100 * number + insert.events[0].originator_version]
            insert.done = True


def event(version: int) -> list[StoredEvent]:
    return [StoredEvent(originator_id=uuid4(), originator_version=version, topic="t", state=b"{}")]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def start(pool: ThreadPoolExecutor, recorder: HeldRecorder, version: int) -> Future[Any]:
    def call() -> Any:
        threading.current_thread().name = f"caller-{version}"
        return recorder.insert_events(event(version), tracking=None)

    return pool.submit(call)


@pytest.mark.parametrize("fail_group", [None, 2])
def test_callers_queued_behind_a_write_go_as_one_group_led_by_the_first_of_them_in_the_order_they_came(
    fail_group: int | None,
) -> None:
    recorder = HeldRecorder()
    recorder.fail_group = fail_group
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = start(pool, recorder, 1)
        wait_until(lambda: len(recorder.groups) == 1)
        queued = []
        for version in (2, 3, 4):
            queued.append(start(pool, recorder, version))
            wait_until(lambda v=version: recorder.queued == v - 1)  # type: ignore[misc]
        recorder.release[0].set()
        assert first.result(10) == [101]
        wait_until(lambda: len(recorder.groups) == 2)
        assert recorder.groups[1] == ("caller-2", [2, 3, 4])
        late = start(pool, recorder, 5)  # arrives while the second group is written: waits for the third
        wait_until(lambda: recorder.queued == 1)
        assert not any(f.done() for f in queued)  # nobody of the second group is answered before it is written
        recorder.release[1].set()
        if fail_group == 2:
            for future in queued:
                with pytest.raises(IntegrityError):
                    future.result(10)
        else:
            assert [f.result(10) for f in queued] == [[202], [203], [204]]
        wait_until(lambda: len(recorder.groups) == 3)
        assert recorder.groups[2] == ("caller-5", [5])
        recorder.release[2].set()
        assert late.result(10) == [305]
    assert recorder.queued == 0 and not recorder._writing
