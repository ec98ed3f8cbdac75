"""Races on PostgreSQL: the last units of stock, and order numbers and skus claimed at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.inventory.application import InventoryApplication
from application.shared.commands import CommandResult
from application.work_orders.application import WorkOrdersApplication
from domain.inventory.errors import SkuTaken
from domain.inventory.item import InventoryItem
from domain.shared.errors import ConcurrencyConflict
from domain.work_orders.errors import OrderNumberTaken
from domain.work_orders.new_order import NewWorkOrder
from domain.work_orders.work_order import WorkOrder
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register

RACERS = 12


def race(attempts: list[Callable[[], Any]]) -> list[Any]:
    """Runs every attempt at once from its own thread; answers each one's result or exception."""

    def run(attempt: Callable[[], Any]) -> Any:
        try:
            return attempt()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(run, attempts))


def welder(container: Chronicle, clock: Clock, name: str) -> UUID:
    return register(container, clock, f"{name}@example.com", roles=["operator"], verified=True)


def started_order(app: WorkOrdersApplication, clock: Clock, number: str, welder_id: UUID) -> UUID:
    order_id = app.create_work_order(
        context(clock), NewWorkOrder(number, "Acme", "Frame", "MIG-1", clock().date(), "normal")
    ).id
    app.assign_welder(context(clock), order_id, welder_id)
    app.start_work(context(clock), order_id, welder_id)
    return order_id


def test_two_workers_consuming_the_last_units_at_once_one_wins_one_conflicts_and_stock_ends_at_zero(
    make_container: ContainerFactory, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = make_container(), make_container()  # two worker processes' worth of stores and pools
    app, inventory = first.work_orders, first.inventory
    item_id = inventory.register_item(context(clock), sku="LAST-1", name="Rod", unit="kg", reorder_level=Decimal(0)).id
    inventory.receive_stock(context(clock), item_id, Decimal(3), "delivery")
    welders = [welder(first, clock, "w1"), welder(first, clock, "w2")]
    orders = [started_order(app, clock, f"R-{n}", welders[n]) for n in range(2)]
    # Both decide on the same stock before either saves: only the store's version check can stop one.
    decided = threading.Barrier(2)
    consume = InventoryItem.consume

    def consume_then_wait(self: InventoryItem, **kwargs: Any) -> None:
        consume(self, **kwargs)
        decided.wait(timeout=10)

    monkeypatch.setattr(InventoryItem, "consume", consume_then_wait)

    outcomes = race(
        [
            lambda n=n, worker=worker: worker.work_orders.consume_material(
                context(clock), orders[n], welder_id=welders[n], item_id=item_id, quantity=Decimal(3)
            )
            for n, worker in enumerate((first, second))
        ]
    )

    winners = [o for o in outcomes if isinstance(o, CommandResult)]
    losers = [o for o in outcomes if not isinstance(o, CommandResult)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], ConcurrencyConflict)
    item: InventoryItem = inventory.repository.get(item_id)
    assert item.stock == 0
    consumed = [app.repository.get(order_id).materials for order_id in orders]
    assert sorted(len(m) for m in consumed) == [0, 1]  # the loser's order is untouched: both or neither


def test_many_workers_draining_stock_never_take_it_below_zero(make_container: ContainerFactory, clock: Clock) -> None:
    workers = [make_container() for _ in range(3)]
    app, inventory = workers[0].work_orders, workers[0].inventory
    item_id = inventory.register_item(context(clock), sku="DRAIN-1", name="Gas", unit="l", reorder_level=Decimal(1)).id
    inventory.receive_stock(context(clock), item_id, Decimal(5), "delivery")
    welders = [welder(workers[0], clock, f"d{n}") for n in range(RACERS)]
    orders = [started_order(app, clock, f"D-{n}", welders[n]) for n in range(RACERS)]

    outcomes = race(
        [
            lambda n=n: workers[n % 3].work_orders.consume_material(
                context(clock), orders[n], welder_id=welders[n], item_id=item_id, quantity=Decimal(1)
            )
            for n in range(RACERS)
        ]
    )

    wins = sum(isinstance(o, CommandResult) for o in outcomes)
    item: InventoryItem = inventory.repository.get(item_id)
    assert item.stock == 5 - wins >= 0
    used = sum(sum(app.repository.get(order_id).materials.values(), Decimal(0)) for order_id in orders)
    assert used == wins  # every unit that left the shelf is on exactly one order
    assert all(isinstance(o, CommandResult | ConcurrencyConflict) or o.code == "insufficient_stock" for o in outcomes)


@pytest.mark.parametrize("kind", ["order_number", "sku"])
def test_creations_racing_for_one_key_in_any_letter_case_leave_exactly_one(
    make_container: ContainerFactory, clock: Clock, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    workers = [make_container() for _ in range(3)]
    spellings = [("race-key" if n % 2 else "RACE-KEY") if n % 3 else " Race-Key " for n in range(RACERS)]
    # Every racer passes the friendly "already taken?" check; the claim stream must stop all but one.
    checked = threading.Barrier(RACERS)

    def not_taken_yet(*_: Any) -> bool:
        checked.wait(timeout=30)
        return False

    def none_existing_yet(*_: Any) -> set[UUID]:
        checked.wait(timeout=30)
        return set()

    monkeypatch.setattr(WorkOrdersApplication, "_number_taken", not_taken_yet)
    # Inventory asks the log which claims exist only for its "already taken?" check.
    monkeypatch.setattr(InventoryApplication, "existing", none_existing_yet)

    def create(n: int) -> CommandResult:
        worker = workers[n % 3]
        if kind == "sku":
            return worker.inventory.register_item(
                context(clock), sku=spellings[n], name="Rod", unit="kg", reorder_level=Decimal(0)
            )
        new = NewWorkOrder(spellings[n], "Acme", "Frame", "MIG-1", clock().date(), "normal")
        return worker.work_orders.create_work_order(context(clock), new)

    outcomes = race([lambda n=n: create(n) for n in range(RACERS)])

    winners = [o for o in outcomes if isinstance(o, CommandResult)]
    assert len(winners) == 1, outcomes
    expected = SkuTaken if kind == "sku" else OrderNumberTaken
    assert all(isinstance(o, expected) for o in outcomes if o not in winners), outcomes
    created = WorkOrder.Created if kind == "order_number" else InventoryItem.Registered
    notifications = workers[0].work_orders.recorder.select_notifications(start=1, limit=1000)
    assert [n.originator_id for n in notifications if n.topic.endswith(created.__qualname__)] == [winners[0].id]
