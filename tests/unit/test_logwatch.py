"""LogWatch: a projection is too far behind to decide on when it has not reached the head seen N seconds ago."""

from __future__ import annotations

from infrastructure.shared.logwatch import LogWatch
from infrastructure.shared.runner import PositionBoard


class World:
    """A log head, a stored projection position and a clock, all moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.head = 0
        self.stored = 0
        self.head_reads = 0
        self.store_reads = 0

    def read_head(self) -> int:
        self.head_reads += 1
        return self.head

    def read_stored(self, name: str) -> int:
        self.store_reads += 1
        return self.stored

    def clock(self) -> float:
        return self.now


def watch(world: World, max_lag: float = 5.0) -> LogWatch:
    return LogWatch(
        PositionBoard(world.read_stored),
        world.read_head,
        max_lag_seconds=max_lag,
        sample_seconds=1.0,
        recheck_seconds=0.25,
        clock=world.clock,
    )


def run(world: World, logwatch: LogWatch, until: float) -> None:
    """The sampler's rounds, once a second, up to ``until``."""
    while world.now < until:
        world.now += 1.0
        logwatch.sample()


def test_a_projection_that_stops_becomes_behind_once_the_head_it_missed_is_older_than_the_lag() -> None:
    world = World()
    logwatch = watch(world)
    world.head = world.stored = 10
    logwatch.sample()
    world.head = 11  # a logout the projection never applies
    run(world, logwatch, until=5.0)

    assert logwatch.behind("accounts") is False  # the missed event is 4 s old: within the lag
    run(world, logwatch, until=7.0)
    assert logwatch.behind("accounts") is True


def test_a_burst_the_projection_absorbs_within_the_lag_is_never_behind() -> None:
    world = World()
    logwatch = watch(world)
    logwatch.sample()
    verdicts = []
    for second in range(1, 30):
        world.now = float(second)
        world.head = 100_000 if second >= 10 else 10  # a spike of 100k events at t=10
        world.stored = world.head if second < 10 or second >= 14 else 10 + (second - 10) * 25_000
        logwatch.sample()
        world.now += 0.5
        verdicts.append(logwatch.behind("accounts"))

    assert verdicts == [False] * len(verdicts)


def test_without_history_older_than_the_lag_nothing_is_behind() -> None:
    world = World()
    logwatch = watch(world)
    world.head = 50
    logwatch.sample()

    assert logwatch.behind("accounts") is False
    assert world.store_reads == 0


def test_the_verdict_is_read_from_memory_when_the_board_is_current_and_rechecked_briefly_when_behind() -> None:
    world = World()
    logwatch = watch(world)
    world.head = 10
    logwatch.sample()
    run(world, logwatch, until=6.0)
    logwatch.board.advance("accounts", 10)  # as a NOTIFY would

    assert logwatch.behind("accounts") is False
    assert world.store_reads == 0
    world.head = 20
    run(world, logwatch, until=12.0)
    assert logwatch.behind("accounts") is True
    assert world.store_reads == 1
    world.stored = 20  # caught up (the board missed the notification): seen after the recheck interval
    assert logwatch.behind("accounts") is True
    world.now += 0.3
    assert logwatch.behind("accounts") is False
    assert world.store_reads == 2


def test_the_head_is_read_again_only_for_a_position_beyond_the_last_sample() -> None:
    world = World()
    logwatch = watch(world)
    world.head = 7
    logwatch.sample()
    world.head = 9

    assert logwatch.head(at_least=7) == 7
    assert world.head_reads == 1
    assert logwatch.head(at_least=8) == 9
    assert logwatch.head(at_least=1_000) == 9
    assert world.head_reads == 3
