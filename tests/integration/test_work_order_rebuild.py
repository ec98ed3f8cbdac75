"""Rebuilding the work-order and inventory read models from the log gives exactly the live rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.inventory.errors import InsufficientStock
from domain.work_orders.new_order import NewWorkOrder
from infrastructure.inventory.tables import INVENTORY_TABLES
from infrastructure.root import Chronicle
from infrastructure.work_orders.tables import DASHBOARD_TABLES, TIMELINE_TABLES, WORK_ORDER_TABLES
from tests.conftest import Clock
from tests.integration.conftest import context, register, table_rows


def workshop_history(container: Chronicle, clock: Clock) -> None:
    """Orders in every status, stock received, consumed and adjusted, and a refused command."""
    app, inventory = container.work_orders, container.inventory
    welder = register(container, clock, "welder@example.com", roles=["operator"], verified=True)
    spare = register(container, clock, "spare@example.com", roles=["operator"], verified=True)
    inspector = register(container, clock, "inspector@example.com", roles=["inspector"], verified=True)
    rod = inventory.register_item(context(clock), sku="ROD-1", name="Rod", unit="kg", reorder_level=Decimal("2")).id
    gas = inventory.register_item(context(clock), sku="GAS-1", name="Argon", unit="l", reorder_level=Decimal("10")).id
    inventory.receive_stock(context(clock), rod, Decimal("5.5"), "delivery 1")
    inventory.receive_stock(context(clock), gas, Decimal(40), "delivery 2")
    today = clock().date()
    ids = []
    for n, priority in enumerate(["low", "normal", "high", "urgent", "normal", "low"]):
        new = NewWorkOrder(f"H-{n}", f"Client {n % 2}", "Job", f"M-{n % 3}", today + timedelta(days=n - 2), priority)
        ids.append(app.create_work_order(context(clock), new).id)
    app.assign_welder(context(clock), ids[1], spare)
    for order_id in ids[1:5]:
        app.assign_welder(context(clock), order_id, welder)
        clock.advance(hours=1)
        app.start_work(context(clock), order_id, welder)
        app.consume_material(context(clock), order_id, welder_id=welder, item_id=rod, quantity=Decimal("1.25"))
    app.consume_material(context(clock), ids[2], welder_id=welder, item_id=gas, quantity=Decimal(35))
    with pytest.raises(InsufficientStock):
        app.consume_material(context(clock), ids[3], welder_id=welder, item_id=rod, quantity=Decimal(9))
    app.record_inspection(context(clock), ids[2], inspector_id=inspector, passed=False, notes="porous")
    app.send_to_rework(context(clock), ids[2], "grind and reweld")
    app.start_work(context(clock), ids[2], welder)
    for order_id in ids[2:4]:
        clock.advance(hours=3)
        app.record_inspection(context(clock), order_id, inspector_id=inspector, passed=True, notes="ok")
        app.complete_work_order(context(clock), order_id)
    app.record_inspection(context(clock), ids[4], inspector_id=inspector, passed=False, notes="cracked")
    app.cancel_work_order(context(clock), ids[5], "client withdrew")
    inventory.adjust_stock(context(clock), rod, Decimal("-0.5"), "counted")


def rows(container: Chronicle) -> dict[str, list[tuple[Any, ...]]]:
    tables = (*WORK_ORDER_TABLES, *TIMELINE_TABLES, *DASHBOARD_TABLES, *INVENTORY_TABLES)
    return {table.name: table_rows(container, table) for table in tables}


def test_given_a_workshop_history_when_its_projections_are_reset_and_replayed_then_every_row_is_the_same(
    container: Chronicle, clock: Clock
) -> None:
    workshop_history(container, clock)
    names = ("work_orders", "work_order_timeline", "workshop_dashboard", "inventory")
    runners = [container.runners[name] for name in names]
    for runner in runners:
        # Live: small batches, so a batch often changes rows an earlier batch wrote (and several times).
        runner.batch_size = 3
        runner.catch_up()
        runner.batch_size = 2000
    live = rows(container)
    assert len(live["rm_work_orders"]) == 6
    assert len(live["rm_inventory_movements"]) == 2 + 5 + 1
    assert {name: value for name, value in live["rm_workshop_counters"]}["status:completed"] == 2
    board = container.work_order_queries.dashboard(clock().date())

    for runner in runners:  # rebuilt: the whole history in one batch
        runner.reset()
    assert all(not table for table in rows(container).values())
    for runner in runners:
        runner.catch_up()

    assert rows(container) == live
    assert container.work_order_queries.dashboard(clock().date()) == board
