"""PositionBoard.wait: notices first, the store as the fallback; a check that cannot wait asks the store."""

from __future__ import annotations

import threading

from infrastructure.shared.runner import PositionBoard


class Store:
    def __init__(self, position: int) -> None:
        self.position = position
        self.reads = 0

    def read(self, _name: str) -> int:
        self.reads += 1
        return self.position


def test_a_waiter_on_a_follower_the_board_knows_is_woken_by_the_notice_without_asking_the_store() -> None:
    store = Store(5)
    board = PositionBoard(store.read, recheck_seconds=30)
    board.advance("accounts", 5)
    threading.Timer(0.05, board.advance, ("accounts", 6)).start()

    assert board.wait("accounts", 6, timeout=5) is True
    assert store.reads == 0


def test_a_follower_not_heard_of_yet_and_a_check_that_cannot_wait_ask_the_store() -> None:
    store = Store(9)
    board = PositionBoard(store.read, recheck_seconds=30)

    assert board.wait("accounts", 9, timeout=5) is True  # nothing known: the store says 9 at once
    assert store.reads == 1
    store.position = 12
    assert board.wait("accounts", 12, timeout=0) is True  # no time to wait for a notice
    assert store.reads == 2


def test_a_missed_notice_is_made_up_for_by_the_store_after_the_recheck_interval() -> None:
    store = Store(3)
    board = PositionBoard(store.read, recheck_seconds=0.05)
    board.advance("accounts", 3)
    store.position = 4  # applied, its notice lost

    assert board.wait("accounts", 4, timeout=5) is True
    assert store.reads >= 1
