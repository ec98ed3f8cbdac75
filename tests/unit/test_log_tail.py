"""The runners' shared read of the log's newest entries (``LogTail``): used only when it cannot miss an entry."""

from __future__ import annotations

from eventsourcing.persistence import Notification

from infrastructure.shared.runner import LogTail, Wakeups


class Log:
    def __init__(self) -> None:
        self.entries: list[Notification] = []
        self.reads = 0

    def append(self) -> None:
        n = len(self.entries) + 1
        self.entries.append(Notification(id=n, originator_id=f"o{n}", originator_version=1, topic="t", state=b""))

    def select(self, start: int, limit: int, until: int | None) -> list[Notification]:
        self.reads += 1
        return [e for e in self.entries if e.id >= start and (until is None or e.id <= until)][:limit]


def ids(entries: object) -> list[int]:
    return [entry.id for entry in entries]  # type: ignore[attr-defined]


def rung(entries: int) -> tuple[Log, Wakeups, LogTail]:
    """A log of ``entries`` entries, committed and rung, with a tail over it."""
    log, wakeups = Log(), Wakeups()
    for _ in range(entries):
        log.append()
    wakeups.ring()
    return log, wakeups, LogTail(log.select, wakeups)


def test_runners_that_saw_the_same_ring_share_one_read_each_from_its_own_start() -> None:
    log, wakeups, tail = rung(3)
    seen = wakeups.generation

    assert ids(tail.read(2, 10, None, seen)) == [2, 3]
    assert ids(tail.read(3, 10, None, seen)) == [3]
    assert ids(tail.read(4, 10, None, seen)) == []
    assert ids(tail.read(2, 10, None, seen)) == [2, 3]
    assert log.reads == 1


def test_a_runner_that_saw_a_later_ring_reads_the_store_again() -> None:
    log, wakeups, tail = rung(1)
    assert ids(tail.read(1, 10, None, wakeups.generation)) == [1]
    log.append()  # committed, then rung: the kept read cannot hold it
    wakeups.ring()

    assert ids(tail.read(1, 10, None, wakeups.generation)) == [1, 2]
    assert log.reads == 2


def test_a_full_read_a_read_up_to_a_position_and_an_earlier_start_are_never_answered_from_the_kept_read() -> None:
    log, wakeups, tail = rung(5)
    seen = wakeups.generation

    assert ids(tail.read(1, 2, None, seen)) == [1, 2]  # full: there may be more, not kept
    assert ids(tail.read(2, 2, None, seen)) == [2, 3]
    assert ids(tail.read(4, 10, 4, seen)) == [4]  # up to a position: not kept
    assert ids(tail.read(3, 10, None, seen)) == [3, 4, 5]  # kept
    assert ids(tail.read(2, 10, None, seen)) == [2, 3, 4, 5]  # starts before the kept read
    assert ids(tail.read(4, 5, None, seen)) == [4, 5]  # another batch size
    assert ids(tail.read(3, 10, None, None)) == [3, 4, 5]  # a caller that tracks no rings
    assert log.reads == 7


def test_every_ring_counts_and_wakes_a_runner_whether_or_not_it_cleared_its_event_since_the_last() -> None:
    import threading

    wakeups = Wakeups()
    cleared, uncleared = wakeups.new(), wakeups.new()
    wakeups.ring()
    assert cleared.is_set() and uncleared.is_set()
    cleared.clear()
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: cleared.wait(5) and woke.set())
    waiter.start()
    wakeups.ring()  # the uncleared event is left as it is, the cleared one set again
    waiter.join(5)
    assert woke.is_set() and cleared.is_set() and uncleared.is_set()
    assert wakeups.generation == 2
