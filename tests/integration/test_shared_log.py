"""Every context appends to the one ``chronicle`` log (application/shared/application.py: ``name = "Chronicle"``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg

from domain.work_orders.new_order import NewWorkOrder
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import context, register


def test_given_a_registration_on_postgres_then_its_events_are_in_the_shared_chronicle_events_table(
    container: Chronicle, clock: Clock, postgres_url: str
) -> None:
    account_id = register(container, clock, "shared-log@example.com")

    with psycopg.connect(postgres_url) as conn:
        table = conn.execute("SELECT to_regclass('public.chronicle_events')").fetchone()[0]
        assert table is not None, (
            f"events went to {container.accounts.recorder.events_table_name!r}, not the shared 'chronicle_events' log"
        )
        stored = conn.execute(
            "SELECT count(*) FROM chronicle_events WHERE originator_id = %s", (account_id,)
        ).fetchone()[0]
    assert stored == 2  # Registered + EmailVerificationRequested


def test_the_work_orders_and_inventory_contexts_write_through_the_same_store_and_inventory_snapshots_its_items(
    container: Chronicle, clock: Clock
) -> None:
    for other in (container.work_orders, container.inventory):
        assert other.recorder is container.accounts.recorder
        assert other.factory is container.accounts.factory
    app = container.inventory
    item_id = app.register_item(context(clock), sku="SNAP-1", name="Rod", unit="kg", reorder_level=Decimal(0)).id

    for _ in range(55):  # past the snapshot interval of 50
        app.receive_stock(context(clock), item_id, Decimal(1), "delivery")

    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(item_id)] == [50]
    assert app.repository.get(item_id).stock == 55
    account_id = register(container, clock, "after-items@example.com")
    assert container.accounts.repository.get(account_id).email == "after-items@example.com"


def test_an_item_consumed_by_work_orders_is_snapshotted_at_the_inventory_interval(
    container: Chronicle, clock: Clock
) -> None:
    # The item is saved through the work orders' application: the log's one snapshot policy applies.
    welder = register(container, clock, "snap-welder@example.com", roles=["operator"], verified=True)
    item = container.inventory.register_item(
        context(clock), sku="SNAP-2", name="Rod", unit="kg", reorder_level=Decimal(0)
    ).id
    container.inventory.receive_stock(context(clock), item, Decimal(1000), "delivery")
    new = NewWorkOrder("SNAP-WO", "Acme", "Weld the frame", "MIG-1", date(2030, 1, 1))
    order = container.work_orders.create_work_order(context(clock), new).id
    container.work_orders.assign_welder(context(clock), order, welder)
    container.work_orders.start_work(context(clock), order, welder)

    for _ in range(48):
        container.work_orders.consume_material(
            context(clock), order, welder_id=welder, item_id=item, quantity=Decimal(1)
        )

    snapshots = container.inventory.snapshots
    assert snapshots is not None
    assert [s.originator_version for s in snapshots.get(item)] == [50]
