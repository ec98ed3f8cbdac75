"""Very large atomic saves on PostgreSQL: a bulk import of thousands of orders is one transaction."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from application.shared.commands import CommandContext
from application.work_orders.importing import ImportRejected
from domain.shared.errors import ConcurrencyConflict
from domain.work_orders.new_order import NewWorkOrder
from infrastructure.root import Chronicle
from infrastructure.shared.event_store import ChronicleRecorder
from tests.conftest import Clock
from tests.integration.conftest import context

ORDERS = 8000  # 16,000 events: past the size at which the library's pipelined insert stalls


def new_orders(count: int, prefix: str = "BULK") -> list[tuple[int, NewWorkOrder]]:
    return [
        (row + 2, NewWorkOrder(f"{prefix}-{row}", "Acme", "Frame", "MIG-1", date(2030, 1, 1), "normal"))
        for row in range(count)
    ]


def within(seconds: float, call: Any) -> Any:
    """``call()``'s result; fails the test instead of hanging if it has not returned in time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the save did not finish within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def test_the_container_records_through_chronicles_recorder(container: Chronicle) -> None:
    assert isinstance(container.work_orders.recorder, ChronicleRecorder)
    assert isinstance(container.accounts.recorder, ChronicleRecorder)


def test_an_import_of_thousands_of_orders_lands_in_one_gap_free_run_of_positions(
    container: Chronicle, clock: Clock
) -> None:
    before = container.head_position()

    result = within(120, lambda: container.work_orders.import_work_orders(context(clock), new_orders(ORDERS)))

    notifications = container.work_orders.recorder.select_notifications(start=before + 1, limit=3 * ORDERS)
    assert [n.id for n in notifications] == list(range(before + 1, before + 2 * ORDERS + 1))
    assert result.position == before + 2 * ORDERS
    assert len(result.ids) == ORDERS


def test_a_large_save_that_loses_a_race_writes_nothing(
    container: Chronicle, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = container.work_orders
    orders = new_orders(ORDERS, prefix="RACE")
    # Another command claims the last order number after the import checked the numbers.
    existing = app.existing

    def check_then_lose(ids: Any) -> set[Any]:
        monkeypatch.setattr(app, "existing", existing)  # once: the other command checks its number too
        found = existing(ids)
        app.create_work_order(context(clock), orders[-1][1])
        return found

    monkeypatch.setattr(app, "existing", check_then_lose)
    head = container.head_position()

    with pytest.raises(ConcurrencyConflict):
        within(120, lambda: app.import_work_orders(context(clock), orders))

    assert container.head_position() == head + 2  # only the other command's order and its claim


def test_existing_streams_are_found_in_one_query(container: Chronicle, clock: Clock) -> None:
    app = container.work_orders
    ctx: CommandContext = context(clock)
    made = [app.create_work_order(ctx, new).id for _, new in new_orders(3, prefix="EX")]
    unknown = [order_id.__class__(int=order_id.int ^ 1) for order_id in made]

    assert app.existing([*made, *unknown]) == set(made)
    with pytest.raises(ImportRejected):
        app.import_work_orders(ctx, new_orders(3, prefix="EX"))
