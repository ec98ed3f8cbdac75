"""Idempotency-Key on every command: a retry gets the first answer without a write, another request
with the key is 422, racing first requests write once, keys belong to their caller and outlive the process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN, Clock, policies_settled
from tests.e2e.helpers import PASSWORD
from tests.e2e.test_work_order_import import csv_bytes
from tests.e2e.workshop import Workshop, order_body, with_bulk_import

KEY = {"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}


@pytest.fixture
def shop(client: TestClient, container: Chronicle) -> Workshop:
    workshop = Workshop(client, container)
    with_bulk_import(container, workshop.manager)  # the manager imports: a plan with the feature
    return workshop


def create(shop: Workshop, body: dict[str, Any], key: dict[str, str] = KEY) -> Any:
    return shop.client.post("/api/v1/work-orders", json=body, headers={**shop.manager.headers, **key})


def work_orders_created(container: Chronicle) -> int:
    notifications = container.log.recorder.select_notifications(1, 1_000_000)
    return sum(1 for n in notifications if n.topic.endswith("WorkOrder.Created"))


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_writes_nothing(shop: Workshop) -> None:
    first = create(shop, order_body("WO-7"))
    head = shop.container.head_position()

    retry = create(shop, order_body("WO-7"))

    assert first.status_code == retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"] == f'"{first.json()["version"]}"'
    assert shop.container.head_position() == head
    assert work_orders_created(shop.container) == 1


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(shop: Workshop) -> None:
    assert create(shop, order_body("WO-7")).status_code == 201
    head = shop.container.head_position()

    other = create(shop, order_body("WO-8"))

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert shop.container.head_position() == head


def test_another_callers_same_key_is_independent(shop: Workshop) -> None:
    mine = shop.client.patch(
        "/api/v1/auth/me", json={"first_name": "Ada", "last_name": "L"}, headers={**shop.welder.headers, **KEY}
    )
    theirs = shop.client.patch(
        "/api/v1/auth/me", json={"first_name": "Ada", "last_name": "L"}, headers={**shop.inspector.headers, **KEY}
    )

    assert mine.status_code == theirs.status_code == 200, theirs.text
    assert mine.json()["id"] == shop.welder.id
    assert theirs.json()["id"] == shop.inspector.id


def test_a_failed_command_records_no_key_so_the_corrected_retry_runs(client: TestClient) -> None:
    body = {"email": "ada@example.com", "password": "short", "first_name": "Ada", "last_name": "L"}
    refused = client.post("/api/v1/auth/register", json=body, headers=KEY)
    corrected = client.post("/api/v1/auth/register", json={**body, "password": PASSWORD}, headers=KEY)

    assert refused.status_code == 422
    assert corrected.status_code == 201, corrected.text


def test_an_upload_retried_with_its_key_is_imported_once(shop: Workshop) -> None:
    data = csv_bytes([["WO-1", "Acme", "Frame", "MIG-1", "2030-01-31", "normal"]])

    def upload() -> Any:
        files = {"file": ("orders.csv", data, "text/csv")}
        return shop.client.post("/api/v1/work-orders/import", files=files, headers={**shop.manager.headers, **KEY})

    first, retry = upload(), upload()

    assert first.status_code == retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert work_orders_created(shop.container) == 1


@pytest.mark.parametrize("value", ["", "x" * 256, "has space", '"unterminated'])
def test_a_malformed_key_is_refused(client: TestClient, value: str) -> None:
    body = {"email": "ada@example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "L"}
    response = client.post("/api/v1/auth/register", json=body, headers={"Idempotency-Key": value})

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_idempotency_key"


def test_token_answers_are_never_replayed_and_their_routes_take_no_key(client: TestClient) -> None:
    credentials = {"email": SUPERADMIN[0], "password": SUPERADMIN[1]}
    first = client.post("/api/v1/auth/login", json=credentials, headers=KEY)
    second = client.post("/api/v1/auth/login", json=credentials, headers=KEY)

    assert first.status_code == second.status_code == 200
    assert first.json()["refresh_token"] != second.json()["refresh_token"]
    paths = client.get("/openapi.json").json()["paths"]
    keyed = {
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    commands = {
        f"{method.upper()} {path}" for path, operations in paths.items() for method in operations if method != "get"
    }
    assert commands - keyed == {
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/login/2fa",
        "POST /api/v1/auth/token",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/billing/webhooks/{provider}",  # keyed by the provider's own event id instead
        "POST /api/v1/projections/{name}/rebuild",  # starts a job, writes no event; a second one while it runs is 409
    }


@pytest.mark.parametrize("store", ["postgres"])
def test_racing_first_requests_with_one_key_write_once(client: TestClient, container: Chronicle) -> None:
    body = {"email": "racer@example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "L"}

    def send(_: int) -> Any:
        return client.post("/api/v1/auth/register", json=body, headers=KEY)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))

    created = [a for a in answers if a.status_code == 201]
    others = [a for a in answers if a.status_code != 201]
    assert created, [a.text for a in answers]
    assert {a.json()["id"] for a in created} == {created[0].json()["id"]}
    assert {(a.status_code, a.json()["code"]) for a in others} <= {(409, "idempotency_key_in_flight")}
    registered = container.log.recorder.select_notifications(1, 1_000_000)
    assert sum(1 for n in registered if n.topic.endswith("Account.Registered")) == 2  # the superadmin and one


@pytest.mark.parametrize("store", ["postgres", "embedded"])
def test_a_key_still_replays_after_a_restart(settings: Settings, clock: Clock) -> None:
    body = {"email": "ada@example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "L"}
    before = Chronicle(settings, clock=clock)
    before.start()
    with TestClient(create_app(root=before)) as client:
        first = client.post("/api/v1/auth/register", json=body, headers=KEY)
    before.close()

    after = Chronicle(settings, clock=clock)
    after.start()
    try:
        policies_settled(after)  # the free-plan policy subscribes the new account whichever process gets to it
        head = after.head_position()
        with TestClient(create_app(root=after)) as client:
            retry = client.post("/api/v1/auth/register", json=body, headers=KEY)
        assert after.head_position() == head
    finally:
        after.close()

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
