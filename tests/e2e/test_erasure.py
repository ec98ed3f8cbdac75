"""Erasure over HTTP, on PostgreSQL and the embedded store: the admin's erase, the owner's close with erase, who may."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.shared.personal_data import ERASED
from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN
from tests.e2e.helpers import PASSWORD, bearer, login, mail_token

PERSONAL = {
    "first_name": "Philippa",
    "last_name": "Wrexham-Oddie",
    "phone_country_code": "+351",
    "phone_number": "913579246",
    "birthday": "1984-02-29",
}
PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone_country_code", "phone_number", "birthday")


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client, *SUPERADMIN))


def a_member(client: TestClient, container: Chronicle, email: str) -> tuple[str, dict[str, str]]:
    body = {"email": email, "password": PASSWORD, **PERSONAL}
    created = client.post("/api/v1/auth/register", json=body)
    assert created.status_code == 201, created.text
    token = mail_token(container.settings.mail_folder, email, "Verify")
    assert client.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200
    return str(created.json()["id"]), bearer(login(client, email))


def test_an_admin_erases_an_account_and_the_api_shows_it_erased_everywhere(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    account_id, member = a_member(client, container, "philippa@example.com")

    erased = client.post(f"/api/v1/accounts/{account_id}/erase", headers=admin)
    again = client.post(f"/api/v1/accounts/{account_id}/erase", headers=admin)
    position = {"min_position": container.head_position()}
    row = client.get(f"/api/v1/accounts/{account_id}", params=position, headers=admin)
    events = client.get(f"/api/v1/audit/streams/{account_id}/events", headers=admin)
    state = client.get(f"/api/v1/audit/streams/{account_id}/state", params={"version": 1}, headers=admin)
    search = client.get("/api/v1/accounts", params={"q": "wrexham", **position}, headers=admin)

    assert erased.status_code == 200, erased.text
    assert again.status_code == 409 and again.json()["code"] == "account_erased"
    assert row.status_code == 200 and row.json()["status"] == "closed"
    assert [row.json()[f] for f in PERSONAL_FIELDS] == [ERASED, ERASED, ERASED, None, None, None]
    registered = events.json()["events"][0]
    assert registered["type"] == "Account.Registered"
    assert {registered["payload"][f] for f in PERSONAL_FIELDS} == {ERASED}
    last = events.json()["events"][-1]
    assert last["type"] == "Account.Erased" and last["payload"]["by_owner"] is False
    assert last["actor"] and last["actor"] != "system" and last["timestamp"]
    assert state.status_code == 200 and state.json()["state"]["email"] == ERASED
    assert search.json()["total"] == 0
    assert "Wrexham" not in events.text + state.text + row.text
    # The erased member's tokens no longer work, and its address may register again.
    me = client.get("/api/v1/auth/me", headers=member)
    assert me.status_code == 403 and me.json()["code"] == "account_closed", me.text  # as for any closed account
    fresh = client.post(
        "/api/v1/auth/register", json={"email": "PHILIPPA@example.com", "password": PASSWORD, **PERSONAL}
    )
    assert fresh.status_code == 201, fresh.text


def test_only_admins_may_erase_an_account(client: TestClient, container: Chronicle, admin: dict[str, str]) -> None:
    account_id, member = a_member(client, container, "target@example.com")
    manager_id, manager = a_member(client, container, "manager@example.com")
    assert (
        client.post(f"/api/v1/accounts/{manager_id}/roles", json={"role": "manager"}, headers=admin).status_code == 200
    )
    manager = bearer(login(client, "manager@example.com"))

    refused = [
        client.post(f"/api/v1/accounts/{account_id}/erase", headers=member),
        client.post(f"/api/v1/accounts/{account_id}/erase", headers=manager),
    ]
    anonymous = client.post(f"/api/v1/accounts/{account_id}/erase")
    unknown = client.post("/api/v1/accounts/00000000-0000-4000-8000-000000000000/erase", headers=admin)

    assert [r.status_code for r in refused] == [403, 403]
    assert anonymous.status_code == 401
    assert unknown.status_code == 404
    position = {"min_position": container.head_position()}
    assert client.get(f"/api/v1/accounts/{account_id}", params=position, headers=admin).json()["first_name"] == (
        "Philippa"
    )


def test_the_owner_closes_with_erase_and_needs_the_password(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    account_id, member = a_member(client, container, "owner@example.com")

    wrong = client.post("/api/v1/auth/me/close", json={"password": "not-my-pass-1", "erase": True}, headers=member)
    not_a_bool = client.post("/api/v1/auth/me/close", json={"password": PASSWORD, "erase": "yes"}, headers=member)
    closed = client.post("/api/v1/auth/me/close", json={"password": PASSWORD, "erase": True}, headers=member)
    position = {"min_position": container.head_position()}
    row = client.get(f"/api/v1/accounts/{account_id}", params=position, headers=admin)
    events = client.get(f"/api/v1/audit/streams/{account_id}/events", headers=admin).json()["events"]

    assert wrong.status_code == 401
    assert not_a_bool.status_code == 422
    assert closed.status_code == 200, closed.text
    assert row.json()["first_name"] == ERASED and row.json()["status"] == "closed"
    assert [e["type"] for e in events[-2:]] == ["Account.Closed", "Account.Erased"]
    assert events[-1]["payload"]["by_owner"] is True and events[-1]["actor"] == account_id
    relogin = client.post("/api/v1/auth/login", json={"email": "owner@example.com", "password": PASSWORD})
    assert relogin.status_code == 401


def test_the_owner_closing_without_erase_keeps_the_personal_data(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    account_id, member = a_member(client, container, "keeper@example.com")

    closed = client.post("/api/v1/auth/me/close", json={"password": PASSWORD}, headers=member)
    row = client.get(
        f"/api/v1/accounts/{account_id}", params={"min_position": container.head_position()}, headers=admin
    )

    assert closed.status_code == 200
    assert row.json()["status"] == "closed" and row.json()["last_name"] == "Wrexham-Oddie"
    # An admin may still erase a closed account.
    assert client.post(f"/api/v1/accounts/{account_id}/erase", headers=admin).status_code == 200
