"""Input the stores cannot hold (NUL, control characters, lone surrogates, huge numbers) is a 422 naming
the field, in bodies, query strings and uploads alike, and the read models keep moving afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN, eventually
from tests.e2e.helpers import PASSWORD, bearer, login
from tests.e2e.workshop import Workshop, ok, order_body, with_bulk_import


@pytest.fixture
def admin(client: TestClient, container: Chronicle) -> dict[str, str]:
    tokens = bearer(login(client, *SUPERADMIN))
    # These tests are about input, not freshness: the accounts read model holds the session before they start.
    eventually(lambda: container.stored_position("accounts") >= container.head_position())
    return tokens


@pytest.fixture
def shop(client: TestClient, container: Chronicle) -> Workshop:
    workshop = Workshop(client, container)
    with_bulk_import(container, workshop.manager)  # the manager imports: a plan with the feature
    return workshop


def fields_of(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_failed"
    return [error["field"] for error in body["errors"]]


def register_body(**fields: Any) -> dict[str, Any]:
    return {"email": "eve@example.com", "password": PASSWORD, "first_name": "Eve", "last_name": "Doe", **fields}


@pytest.mark.parametrize("bad", ["A\u0000", "A\u0007b", "A\u009bb", "A\ud800", "A\nB", "A\u007fb"])
def test_a_name_with_a_character_the_stores_cannot_hold_is_refused_and_the_accounts_read_model_moves_on(
    client: TestClient, admin: dict[str, str], bad: str
) -> None:
    # Sent as JSON escapes (``\\ud800``), as a hostile client would: the text is only decoded by the server.
    raw = json.dumps(register_body(first_name=bad))
    refused = client.post("/api/v1/auth/register", content=raw, headers={"content-type": "application/json"})

    assert fields_of(refused) == ["body.first_name"]
    later = ok(client.post("/api/v1/auth/register", json=register_body(email="ok@example.com")), 201)
    read = client.get(f"/api/v1/accounts/{later['id']}", params={"min_position": later["position"]}, headers=admin)
    assert read.status_code == 200, read.text


def test_multi_line_text_keeps_its_newlines_and_tabs_but_not_other_control_characters(shop: Workshop) -> None:
    created = shop.client.post(
        "/api/v1/work-orders", json=order_body(description="Line one\n\tline two"), headers=shop.manager.headers
    )
    refused = shop.client.post(
        "/api/v1/work-orders", json=order_body("WO-2", description="bell\u0007"), headers=shop.manager.headers
    )

    assert created.status_code == 201, created.text
    assert fields_of(refused) == ["body.description"]


def test_a_work_order_client_with_nul_is_refused_and_the_work_order_read_models_move_on(shop: Workshop) -> None:
    refused = shop.client.post(
        "/api/v1/work-orders", json=order_body(client="Acme\u0000"), headers=shop.manager.headers
    )

    assert fields_of(refused) == ["body.client"]
    order_id = shop.create("WO-2")
    assert ok(shop.read(f"/api/v1/work-orders/{order_id}"))["client"] == "Acme Steel"


def test_an_inventory_name_with_nul_is_refused_and_the_inventory_read_model_moves_on(shop: Workshop) -> None:
    item = {"sku": "ROD-1", "name": "Rod\u0000", "unit": "kg"}
    refused = shop.client.post("/api/v1/inventory", json=item, headers=shop.manager.headers)

    assert fields_of(refused) == ["body.name"]
    item_id = shop.item("ROD-2")
    assert ok(shop.read(f"/api/v1/inventory/{item_id}"))["sku"] == "ROD-2"


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/accounts", "q"),
        ("/api/v1/accounts", "role"),
        ("/api/v1/work-orders", "client"),
        ("/api/v1/work-orders", "machine"),
        ("/api/v1/inventory", "q"),
    ],
)
def test_a_nul_in_a_query_filter_is_a_422_naming_the_parameter(
    client: TestClient, admin: dict[str, str], path: str, parameter: str
) -> None:
    response = client.get(f"{path}?{parameter}=a%00b", headers=admin)

    assert f"query.{parameter}" in fields_of(response)


def test_a_query_parameter_a_route_does_not_declare_is_checked_too(client: TestClient, admin: dict[str, str]) -> None:
    assert fields_of(client.get("/api/v1/accounts?anything=%01", headers=admin)) == ["query.anything"]


def test_an_overlong_query_value_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    assert fields_of(client.get("/api/v1/accounts", params={"other": "x" * 5000}, headers=admin)) == ["query.other"]


@pytest.mark.parametrize("path", ["/api/v1/accounts", "/api/v1/work-orders", "/api/v1/inventory"])
def test_a_huge_offset_is_a_422(client: TestClient, admin: dict[str, str], path: str) -> None:
    response = client.get(path, params={"offset": "10000000000000000000"}, headers=admin)

    assert fields_of(response) == ["query.offset"]


@pytest.mark.parametrize("padding", [0, 2000], ids=["first_row", "past_the_sniffed_start"])
@pytest.mark.parametrize("bad", ["\x00", "\x07"], ids=["nul", "bell"])
def test_a_control_character_in_an_imported_cell_is_a_row_error_and_the_read_model_moves_on(
    shop: Workshop, padding: int, bad: str
) -> None:
    rows = [f"PAD-{i},Acme,Frame,MIG-1,2030-05-01" for i in range(padding)]
    rows.append(f"WO-9,Ac{bad}me,Frame,MIG-1,2030-05-01")
    table = "\n".join(["order_number,client,description,machine,due_date", *rows]).encode()

    refused = shop.client.post(
        "/api/v1/work-orders/import", files={"file": ("orders.csv", table, "text/csv")}, headers=shop.manager.headers
    )

    if bad == "\x00" and padding == 0:
        assert refused.status_code == 415, refused.text  # a NUL near the start: not a text file at all
    else:
        assert refused.status_code == 422, refused.text
        assert [(e["row"], e["column"]) for e in refused.json()["errors"]] == [(padding + 2, "client")]
    order_id = shop.create("WO-10")
    assert ok(shop.read(f"/api/v1/work-orders/{order_id}"))["order_number"] == "WO-10"


def test_a_nul_in_a_form_field_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "a\x00@example.com", "password": "x"})

    assert fields_of(response) == ["body.username"]
