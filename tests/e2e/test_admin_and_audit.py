"""Admin commands, permissions, the audit slice and the HTTP contract, over HTTP."""

from __future__ import annotations

from itertools import pairwise

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN
from tests.e2e.helpers import bearer, login, register, verified_account
from tests.e2e.projection_hold import hold_back


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client, *SUPERADMIN))


def test_the_superadmin_exists_once_however_often_the_process_starts(client: TestClient, container: Chronicle) -> None:
    container.ensure_superadmin()
    container.ensure_superadmin()
    tokens = login(client, *SUPERADMIN)

    listed = client.get(
        "/api/v1/accounts", params={"q": "admin@", "min_position": container.head_position()}, headers=bearer(tokens)
    )

    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert "admin" in listed.json()["items"][0]["roles"]


def test_admins_list_search_filter_and_page_accounts(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    for name in ("alice", "bob", "carol"):
        verified_account(client, container.settings.mail_folder, f"{name}@example.com")
    head = container.head_position()

    page = client.get("/api/v1/accounts", params={"limit": 2, "sort": "email", "min_position": head}, headers=admin)
    second = client.get("/api/v1/accounts", params={"limit": 2, "offset": 2, "sort": "email"}, headers=admin)
    search = client.get("/api/v1/accounts", params={"q": "BOB"}, headers=admin)
    by_role = client.get("/api/v1/accounts", params={"role": "admin"}, headers=admin)
    bad_sort = client.get("/api/v1/accounts", params={"sort": "password"}, headers=admin)
    too_big = client.get("/api/v1/accounts", params={"limit": 501}, headers=admin)

    body = page.json()
    assert body["total"] == 4 and body["limit"] == 2 and body["offset"] == 0 and body["has_more"] is True
    assert [a["email"] for a in body["items"]] == ["admin@example.com", "alice@example.com"]
    assert [a["email"] for a in second.json()["items"]] == ["bob@example.com", "carol@example.com"]
    assert second.json()["has_more"] is False
    assert [a["email"] for a in search.json()["items"]] == ["bob@example.com"]
    assert [a["email"] for a in by_role.json()["items"]] == ["admin@example.com"]
    assert bad_sort.status_code == 422 and too_big.status_code == 422


def test_a_plain_user_may_not_use_admin_routes(client: TestClient, container: Chronicle) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "plain@example.com")
    user = bearer(login(client, "plain@example.com"))

    responses = [
        client.get("/api/v1/accounts", headers=user),
        client.get(f"/api/v1/accounts/{user_id}", headers=user),
        client.post(f"/api/v1/accounts/{user_id}/roles", json={"role": "admin"}, headers=user),
        client.post(f"/api/v1/accounts/{user_id}/suspend", json={"reason": "x"}, headers=user),
        client.get(f"/api/v1/audit/streams/{user_id}/events", headers=user),
        client.get("/api/v1/projections", headers=user),
    ]

    assert [r.status_code for r in responses] == [403] * len(responses)
    assert {r.json()["code"] for r in responses} == {"forbidden"}


def test_anonymous_callers_get_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


def test_an_assigned_role_takes_effect_on_the_next_request(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "aud@example.com")
    user = bearer(login(client, "aud@example.com"))

    assigned = client.post(f"/api/v1/accounts/{user_id}/roles", json={"role": "auditor"}, headers=admin)
    # Authorization reads roles from the read model: wait for it through a query that accepts min_position.
    client.get("/api/v1/auth/me", params={"min_position": assigned.json()["position"]}, headers=user)
    events = client.get(f"/api/v1/audit/streams/{user_id}/events", headers=user)
    twice = client.post(f"/api/v1/accounts/{user_id}/roles", json={"role": "auditor"}, headers=admin)
    unknown = client.post(f"/api/v1/accounts/{user_id}/roles", json={"role": "pope"}, headers=admin)

    assert assigned.status_code == 200
    assert events.status_code == 200
    assert twice.status_code == 409 and twice.json()["code"] == "role_already_assigned"
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_role"


def test_a_suspended_account_cannot_log_in_or_use_its_token_until_reactivated(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "sus@example.com")
    user = bearer(login(client, "sus@example.com"))

    suspended = client.post(f"/api/v1/accounts/{user_id}/suspend", json={"reason": "abuse"}, headers=admin)
    me = client.get("/api/v1/auth/me", params={"min_position": suspended.json()["position"]}, headers=user)
    relogin = client.post("/api/v1/auth/login", json={"email": "sus@example.com", "password": "s3cretpass"})
    again = client.post(f"/api/v1/accounts/{user_id}/suspend", json={"reason": "abuse"}, headers=admin)
    reactivated = client.post(f"/api/v1/accounts/{user_id}/reactivate", headers=admin)

    assert me.status_code == 403 and me.json()["code"] == "account_suspended"
    assert relogin.status_code == 403 and relogin.json()["code"] == "account_suspended"
    assert again.status_code == 409 and again.json()["code"] == "account_already_suspended"
    assert reactivated.status_code == 200
    assert login(client, "sus@example.com")["access_token"]


def test_admin_commands_honour_if_match(client: TestClient, container: Chronicle, admin: dict[str, str]) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "etag@example.com")
    detail = client.get(
        f"/api/v1/accounts/{user_id}", params={"min_position": container.head_position()}, headers=admin
    )
    etag = detail.headers["ETag"]

    stale = client.post(
        f"/api/v1/accounts/{user_id}/roles", json={"role": "viewer"}, headers={**admin, "If-Match": '"1"'}
    )
    fresh = client.post(
        f"/api/v1/accounts/{user_id}/roles", json={"role": "viewer"}, headers={**admin, "If-Match": etag}
    )
    garbage = client.post(
        f"/api/v1/accounts/{user_id}/close", json={"reason": "x"}, headers={**admin, "If-Match": "abc"}
    )

    assert stale.status_code == 412 and stale.headers["ETag"] == etag
    assert fresh.status_code == 200
    assert garbage.status_code == 400 and garbage.json()["code"] == "invalid_if_match"


def test_auditors_see_each_event_with_actor_correlation_and_no_secrets(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "trail@example.com")
    tokens = login(client, "trail@example.com")
    client.patch(
        "/api/v1/auth/me",
        json={"first_name": "Ada", "last_name": "Byron"},
        headers={**bearer(tokens), "X-Request-ID": "req-profile-1"},
    )

    response = client.get(f"/api/v1/audit/streams/{user_id}/events", headers=admin)

    assert response.status_code == 200
    events = response.json()["events"]
    assert [e["type"] for e in events] == [
        "Account.Registered",
        "Account.EmailVerificationRequested",
        "Account.EmailVerified",
        "Account.LoginSucceeded",
        "Account.ProfileUpdated",
    ]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5]
    assert all(a["position"] < b["position"] for a, b in pairwise(events))
    assert events[0]["actor"] == "anonymous"
    assert events[-1]["actor"] == user_id
    assert events[-1]["correlation_id"] == events[-1]["causation_id"] == "req-profile-1"
    assert events[0]["payload"]["password_hash"] == "[redacted]"
    assert events[1]["payload"]["nonce"] == "[redacted]"
    assert "argon2" not in response.text


def test_auditors_read_the_state_of_a_stream_as_of_a_version(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "past@example.com")

    at_one = client.get(f"/api/v1/audit/streams/{user_id}/state", params={"version": 1}, headers=admin)
    latest = client.get(f"/api/v1/audit/streams/{user_id}/state", headers=admin)
    beyond = client.get(f"/api/v1/audit/streams/{user_id}/state", params={"version": 99}, headers=admin)

    assert at_one.json()["version"] == 1
    assert at_one.json()["state"]["status"] == "pending_verification"
    assert at_one.json()["state"]["password_hash"] == "[redacted]"
    assert latest.json()["state"]["status"] == "active"
    assert beyond.status_code == 404


def test_a_query_waiting_for_a_position_not_reached_in_time_answers_503(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    with hold_back(container, "accounts"):
        written = register(client, "late@example.com")
        response = client.get("/api/v1/accounts", params={"min_position": written["position"]}, headers=admin)

    assert response.status_code == 503
    assert response.json()["code"] == "projection_behind"
    assert response.headers["Retry-After"] == "1"


def test_every_response_echoes_the_request_id(client: TestClient) -> None:
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    made_up = client.get("/nowhere")

    assert given.headers["X-Request-ID"] == "abc-123"
    assert made_up.status_code == 404
    assert made_up.json()["code"] == "not_found"
    assert made_up.json()["request_id"] == made_up.headers["X-Request-ID"]


def test_an_unexpected_error_is_a_problem_without_a_stack_trace(
    client: TestClient, container: Chronicle, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals SELECT * FROM rm_accounts")

    monkeypatch.setattr(container.account_queries, "search", explode)

    response = client.get("/api/v1/accounts", headers=admin)

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert response.headers["X-Request-ID"] == response.json()["request_id"]


def test_health_ready_and_docs_answer(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"]["ok"] is True
    assert client.get("/docs").status_code == 200
    assert "/api/v1/auth/register" in client.get("/openapi.json").json()["paths"]


def test_every_route_declares_a_permission_or_is_public() -> None:
    from fastapi.routing import APIRoute

    from interfaces.http.app import ROUTERS
    from interfaces.http.shared.auth import public

    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    undeclared = []
    for route in routes:
        calls = set()
        stack = list(route.dependant.dependencies)
        while stack:
            dependant = stack.pop()
            calls.add(dependant.call)
            stack.extend(dependant.dependencies)
        if not any(getattr(call, "permission", None) for call in calls) and public not in calls:
            undeclared.append(f"{sorted(route.methods)} {route.path}")

    assert len(routes) > 30  # the walk sees the routers' routes (the app nests them since FastAPI 0.16x)
    assert undeclared == []
