"""A log written before the per-context restructuring still loads and projects to the same rows.

``tests/fixtures/legacy_log`` holds an event store written by the code of commit 955d347 (module
paths ``domain.account``, ``domain.email_index`` ...) and the read models that code projected from
it. The restructured code must resolve every old topic, load every stream (email index claims as
``UniqueKey``), and rebuild the same rows. One difference is intended and checked as such: the
timeline shows quantities with three places, as every other read model does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import resolve_topic
from fastapi.testclient import TestClient
from sqlalchemy import JSON, select

from domain.accounts.account import Account
from domain.accounts.values import email_claim_id
from domain.shared.unique_key import EMAIL_SCOPE, UniqueKey
from infrastructure.root import Chronicle
from infrastructure.shared.chain_log import ChainLog
from infrastructure.shared.readstore import metadata
from interfaces.http.app import create_app
from tests.conftest import Clock, make_settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy_log"
SUPERADMIN = ("admin@example.com", "Sup3rSecret")  # the superadmin fixtures/make_legacy_log.py created
HEAD = 97
# What the first start of a newer version writes on the old log: the free plan (issue 10); when the
# free-plan policy has caught up, each old account's free subscription (its start and its slot's two events).
FREE_PLAN_EVENTS = 1
EVENTS_PER_FREE_SUBSCRIPTION = 3
# ... and for each old closed account, once the closed-accounts policy has caught up: its cancellation and its
# slot's release (the free-plan policy runs first in catch_up_all).
EVENTS_PER_CLOSING = 2


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[Chronicle]:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE / "events.sqlite3", data / "events.sqlite3")
    chronicle = Chronicle(make_settings(tmp_path, None, None), clock=Clock())
    chronicle.start(run_projections=False)
    try:
        yield chronicle
    finally:
        chronicle.close()


def expected() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURE / "readmodels.json").read_text())
    return loaded


def plain(value: Any) -> Any:
    """A row value as the fixture wrote it: UUID, Decimal, date and datetime as strings."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def rows(chronicle: Chronicle, table_name: str) -> list[dict[str, Any]]:
    table = metadata.tables[table_name]
    with chronicle.read_engine.connect() as conn:
        found = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        return [{key: plain(value) for key, value in row.items()} for row in found]


def test_every_stored_topic_of_the_old_log_resolves_to_a_class_of_the_new_layout() -> None:
    topics = (FIXTURE / "topics.txt").read_text().split()

    resolved = {topic: resolve_topic(topic) for topic in topics}

    assert len(topics) == 32
    new_homes = ("domain.shared.", "domain.accounts.", "domain.work_orders.", "domain.inventory.")
    assert all(cls.__module__.startswith(new_homes) for cls in resolved.values())
    assert resolved["domain.email_index:EmailIndex.Claimed"] is UniqueKey.Claimed


def test_every_stream_of_the_old_log_loads(legacy: Chronicle) -> None:
    notifications = legacy.log.recorder.select_notifications(start=1, limit=1000)
    assert len(notifications) == HEAD + FREE_PLAN_EVENTS
    assert notifications[-1].topic == "domain.subscriptions.plan:Plan.Created"
    streams = {n.originator_id for n in notifications[:HEAD]}

    loaded = [legacy.log.repository.get(stream_id) for stream_id in streams]

    assert {type(aggregate).__name__ for aggregate in loaded} == {
        "Account",
        "Session",
        "UniqueKey",
        "WorkOrder",
        "InventoryItem",
    }


def test_an_old_email_index_claim_loads_as_an_email_unique_key_owned_by_its_account(legacy: Chronicle) -> None:
    claim = legacy.log.repository.get(email_claim_id("  Manager@Example.com "))

    assert isinstance(claim, UniqueKey)
    assert (claim.scope, claim.key) == (EMAIL_SCOPE, "manager@example.com")
    owner = legacy.log.repository.get(claim.owner_id)
    assert isinstance(owner, Account) and owner.email == "manager@example.com"


def test_an_account_of_the_old_log_logs_in_and_its_email_stays_taken(legacy: Chronicle) -> None:
    with TestClient(create_app(root=legacy), raise_server_exceptions=False) as client:
        login = client.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]})
        again = client.post(
            "/api/v1/auth/register",
            json={"email": "MANAGER@example.com", "password": "An0ther-one", "first_name": "M", "last_name": "M"},
        )

    assert login.status_code == 200, login.text
    assert again.status_code == 409 and again.json()["code"] == "email_taken"


def catch_up_all(chronicle: Chronicle) -> None:
    """Every follower at the head, including what a policy wrote while the others caught up."""
    head = -1
    while head != chronicle.head_position():
        head = chronicle.head_position()
        for runner in chronicle.runners.values():
            runner.catch_up()


def test_the_old_log_projects_to_the_rows_the_old_code_wrote(legacy: Chronicle) -> None:
    catch_up_all(legacy)
    old = expected()
    assert set(old) - {"positions"} <= set(metadata.tables) and len(old) == 12

    for name, old_rows in old.items():
        if name == "positions":
            continue
        new_rows = rows(legacy, name)
        if name == "rm_work_order_timeline":
            new_rows, old_rows = _timeline_quantities(new_rows), _timeline_quantities(old_rows)
        assert old_rows and new_rows == old_rows, f"{name} differs"
    accounts = [row["id"] for row in old["rm_accounts"]]
    closed = [row["id"] for row in old["rm_accounts"] if row["status"] == "closed"]
    assert closed  # the old log holds a closed account: the closed-accounts policy ends its free subscription
    assert legacy.head_position() == (
        HEAD + FREE_PLAN_EVENTS + EVENTS_PER_FREE_SUBSCRIPTION * len(accounts) + EVENTS_PER_CLOSING * len(closed)
    )
    assert all(legacy.subscriptions.subscription_of(UUID(a)).plan_code == "free" for a in accounts)
    assert {a for a in accounts if legacy.subscriptions.subscription_of(UUID(a)).status == "canceled"} == set(closed)
    assert all(legacy.stored_position(name) == legacy.head_position() for name in legacy.runners)


def test_the_timeline_now_shows_quantities_with_three_places_like_the_materials(legacy: Chronicle) -> None:
    legacy.runners["work_order_timeline"].catch_up()

    consumed = [row["details"] for row in rows(legacy, "rm_work_order_timeline") if row["event"] == "MaterialConsumed"]
    old = [row["details"] for row in expected()["rm_work_order_timeline"] if row["event"] == "MaterialConsumed"]

    assert consumed and all(Decimal(d["quantity"]).as_tuple().exponent == -3 for d in consumed)
    assert [Decimal(d["quantity"]) for d in consumed] == [Decimal(d["quantity"]) for d in old]


def _timeline_quantities(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timeline rows with quantities compared by value (the intended change is their format)."""
    return [
        {**row, "details": {**row["details"], "quantity": Decimal(row["details"]["quantity"])}}
        if "quantity" in row["details"]
        else row
        for row in entries
    ]


def test_starting_on_the_old_log_writes_only_the_free_plan_once(legacy: Chronicle) -> None:
    # start() already made sure the superadmin of the old log exists (found through its old email claim)
    legacy.ensure_superadmin()
    legacy.subscriptions.ensure_free_plan()

    assert legacy.head_position() == HEAD + FREE_PLAN_EVENTS


def test_an_upgrade_keeps_the_old_read_models_and_builds_the_split_ones_from_zero(tmp_path: Path) -> None:
    # Given the old log and the read models the old code left beside it (its trackers at the head)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE / "events.sqlite3", data / "events.sqlite3")
    old = expected()
    chronicle = Chronicle(make_settings(tmp_path, None, None), clock=Clock())
    chronicle.open()
    try:
        _restore(chronicle, old)

        # When the new code starts and its projections catch up
        chronicle.start(run_projections=False)
        catch_up_all(chronicle)

        # Then the new followers (timeline, dashboard) started from empty tables, not on top of the old rows
        assert {name: chronicle.stored_position(name) for name in chronicle.runners} == dict.fromkeys(
            chronicle.runners, chronicle.head_position()
        )
        for name in ("rm_workshop_counters", "rm_workshop_due", "rm_accounts", "rm_work_orders"):
            assert rows(chronicle, name) == old[name], f"{name} differs"
        assert _timeline_quantities(rows(chronicle, "rm_work_order_timeline")) == _timeline_quantities(
            old["rm_work_order_timeline"]
        )
    finally:
        chronicle.close()


def _restore(chronicle: Chronicle, dump: dict[str, Any]) -> None:
    """Write the fixture's rows and tracked positions into the (empty) read store, typed as the columns are."""
    with chronicle.write_engine.begin() as conn:
        for table in metadata.sorted_tables:
            if dump.get(table.name):
                conn.execute(table.insert(), [_typed(table, row) for row in dump[table.name]])
        tracking = metadata.tables["projection_tracking"]
        conn.execute(
            tracking.insert(),
            [{"name": n, "position": p, "updated_at": datetime.now(UTC)} for n, p in dump["positions"].items()],
        )


def _typed(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    typed = {}
    for name, value in row.items():
        kind = table.c[name].type
        if isinstance(value, str) and not isinstance(kind, JSON):
            python_type = getattr(kind, "impl", kind).python_type  # a TypeDecorator: its underlying type
            if python_type is UUID:
                value = UUID(value)
            elif python_type is datetime:
                value = datetime.fromisoformat(value)
            elif python_type is date:
                value = date.fromisoformat(value)
            elif python_type is Decimal:
                value = Decimal(value)
        typed[name] = value
    return typed


def test_the_legacy_log_is_chained_once_at_start_and_verifies(legacy: Chronicle) -> None:
    """The log written before the hash chain gets its links at the first start (the backfill), all of them."""
    chain = ChainLog(legacy.log.recorder)
    verdict = chain.verify()
    # The old events, and what this start appended after them (the free plan): all linked, all verified.
    head = legacy.head_position()
    assert head > HEAD
    assert verdict.ok and verdict.checked == head, verdict
    assert chain.head() == (head, verdict.head)
    table = legacy.log.recorder.events_table_name
    with legacy.log.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"SELECT chained_rows, head_position FROM {table}_chain_backfill")  # noqa: S608
        assert [tuple(row) for row in cursor.fetchall()] == [(HEAD, HEAD)]
