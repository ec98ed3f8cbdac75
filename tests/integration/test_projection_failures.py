"""A projection that cannot apply an event stops alone, says so everywhere, retries, and resumes after the fix."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from typer.testing import CliRunner

from infrastructure.inventory.tables import inventory_items
from infrastructure.root import Chronicle
from infrastructure.shared.operations import ProjectionState
from interfaces.cli import app as cli
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN, TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually
from tests.integration.conftest import ContainerFactory, context, register

POISON = "POISON-7"
SECRET_NAME = "Name only the event knows"


class NulInName:
    """Makes the inventory view write a NUL into one item's name, which PostgreSQL text refuses.

    The event itself is fine; the cause sits in the view, and ``fixed`` removes it (as a release would)."""

    def __init__(self, make_view: Callable[[Connection], Any]) -> None:
        self.make_view = make_view
        self.fixed = False

    def __call__(self, conn: Connection) -> Any:
        view = self.make_view(conn)
        add_item = view.add_item

        def add(item_id: UUID, version: int, at: Any, **fields: Any) -> None:
            if not self.fixed and fields["sku"] == POISON:
                fields["name"] = fields["name"] + "\x00"
            add_item(item_id, version, at, **fields)

        view.add_item = add
        return view


def state_of(container: Chronicle, name: str) -> ProjectionState:
    return next(state for state in container.operations.projections() if state.name == name)


def register_items(container: Chronicle, clock: Clock, skus: list[str]) -> dict[str, UUID]:
    return {
        sku: container.inventory.register_item(
            context(clock), sku=sku, name=SECRET_NAME, unit="kg", reorder_level=Decimal(1)
        ).id
        for sku in skus
    }


def registered_at(container: Chronicle, item_id: UUID) -> tuple[int, int]:
    """The log position of the item's ``Registered`` event, and the position of the entry before it."""
    log = container.log.recorder.select_notifications(start=1, limit=10_000)
    index = next(i for i, n in enumerate(log) if n.originator_id == item_id and n.originator_version == 1)
    return log[index].id, log[index - 1].id


def stored_skus(container: Chronicle) -> set[str]:
    with container.read_engine.connect() as conn:
        return set(conn.execute(select(inventory_items.c.sku)).scalars())


@pytest.fixture
def chronicle(make_container: ContainerFactory) -> Iterator[Chronicle]:
    container = make_container(
        superadmin_email=SUPERADMIN[0],
        superadmin_password=SUPERADMIN[1],
        projection_batch_size=50,
        projection_retry_seconds=0.05,
        projection_retry_max_seconds=0.2,
    )
    yield container


def test_an_event_the_inventory_view_cannot_store_stops_that_projection_alone_visibly_and_it_resumes_after_the_fix(
    chronicle: Chronicle, clock: Clock, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given items before and after the poisoned one, all in one batch of the inventory projection
    runner = chronicle.runners["inventory"]
    fault = NulInName(runner.follower.view_factory)  # type: ignore[arg-type]
    runner.follower.view_factory = fault
    items = register_items(chronicle, clock, ["GOOD-1", "GOOD-2", POISON, "GOOD-3"])
    poisoned_at, just_before = registered_at(chronicle, items[POISON])
    assert just_before > registered_at(chronicle, items["GOOD-1"])[0]  # in the same batch of 50

    # When the projections run (each on its own thread)
    chronicle.start(run_projections=True)
    failed = eventually(lambda: (s := state_of(chronicle, "inventory")).failure is not None and s)

    # Then inventory stopped exactly before the poisoned event: the items before it in the batch are applied
    assert failed.state == "failed"
    assert failed.failure is not None and failed.failure.position == poisoned_at
    assert failed.position == just_before
    assert stored_skus(chronicle) == {"GOOD-1", "GOOD-2"}
    assert failed.failure.error_type == "psycopg.DataError"
    assert "InventoryItem.Registered" in failed.failure.error and str(poisoned_at) in failed.failure.error
    assert SECRET_NAME not in failed.failure.error and "INSERT" not in failed.failure.error

    # And the other projections go on, on threads of their own
    threads = {thread.name for thread in threading.enumerate()}
    assert {"projection-inventory", "projection-accounts"} <= threads
    later = register(chronicle, clock, "after-the-failure@example.com")
    head = chronicle.head_position()
    assert head > poisoned_at
    assert chronicle.board.wait("accounts", head, timeout=15)
    assert chronicle.account_queries.get(later) is not None

    # And it retries with backoff, counting the attempts, and stays where it stopped
    def retried_thrice() -> ProjectionState | None:
        state = state_of(chronicle, "inventory")
        return state if state.failure is not None and state.failure.retries >= 3 else None

    assert eventually(retried_thrice).position == just_before

    # And every edge says so: the HTTP route, readiness, the command line
    with TestClient(create_app(root=chronicle), raise_server_exceptions=False) as client:
        login = client.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]})
        assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}

        listed = {item["name"]: item for item in client.get("/api/v1/projections", headers=admin).json()}
        inventory = listed["inventory"]
        assert inventory["state"] == "failed"
        assert inventory["failed_position"] == poisoned_at
        assert inventory["position"] == failed.position
        assert inventory["error"]["type"] == "psycopg.DataError"
        assert SECRET_NAME not in inventory["error"]["message"]
        assert inventory["retries"] >= 3 and inventory["failed_since"] is not None
        assert listed["accounts"]["state"] == "running" and listed["accounts"]["failed_position"] is None

        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert list(ready.json()["checks"]["projections"]["failed"]) == ["inventory"]
        assert ready.json()["checks"]["projections"]["failed"]["inventory"]["position"] == poisoned_at

        monkeypatch.setenv("DATABASE_URL", postgres_url)
        monkeypatch.setenv("SUPERADMIN_EMAIL", "")
        monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
        monkeypatch.setenv("PII_MASTER_KEY", TEST_PII_MASTER_KEY)
        status = CliRunner().invoke(cli, ["projections", "status"], terminal_width=250)
        assert status.exit_code == 1, status.output
        lines = status.output.splitlines()
        rows = {line.split("│")[1].strip(): line for line in lines if line.count("│") >= 7}
        assert "inventory" in rows, status.output
        cells = [cell.strip() for cell in rows["inventory"].split("│")[1:-1]]
        assert cells[1] == str(just_before) and cells[4:6] == ["failed", str(poisoned_at)]
        assert [cell.strip() for cell in rows["accounts"].split("│")[5:7]] == ["running", ""]
        why = [line for line in lines if line.startswith("inventory failed since")]
        assert len(why) == 1 and "psycopg.DataError" in why[0] and SECRET_NAME not in why[0]

        # When the cause is fixed
        fault.fixed = True

        # Then it resumes from that position, catches up and is running again
        resumed = eventually(lambda: (s := state_of(chronicle, "inventory")).failure is None and s.lag == 0 and s)
        assert resumed.state == "running"
        assert stored_skus(chronicle) == {"GOOD-1", "GOOD-2", POISON, "GOOD-3"}
        assert client.get("/ready").status_code == 200
        listed_again = client.get("/api/v1/projections", headers=admin).json()
        assert {item["name"]: item["state"] for item in listed_again}["inventory"] == "running"
        assert all(item["state"] == "running" and item["error"] is None for item in listed_again)
