"""Every context appends to the one ``chronicle`` log (application/base.py: ``name = "Chronicle"``)."""

from __future__ import annotations

from decimal import Decimal

import psycopg

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


def test_the_work_orders_context_writes_through_the_same_store_and_snapshots_its_items(
    container: Chronicle, clock: Clock
) -> None:
    app = container.work_orders
    assert app.recorder is container.accounts.recorder
    assert app.factory is container.accounts.factory
    item_id = app.register_item(context(clock), sku="SNAP-1", name="Rod", unit="kg", reorder_level=Decimal(0)).id

    for _ in range(55):  # past the snapshot interval of 50
        app.receive_stock(context(clock), item_id, Decimal(1), "delivery")

    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(item_id)] == [50]
    assert app.repository.get(item_id).stock == 55
    account_id = register(container, clock, "after-items@example.com")
    assert container.accounts.repository.get(account_id).email == "after-items@example.com"
