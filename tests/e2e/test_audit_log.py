"""The global log for auditors: paging, filters, everything one request did, the export, and time travel."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN, Clock, policies_settled
from tests.e2e.helpers import bearer, login, register, verified_account
from tests.e2e.projection_hold import hold_back

EXPORT_KEYS = {
    "position",
    "stream_id",
    "version",
    "type",
    "timestamp",
    "actor",
    "correlation_id",
    "causation_id",
    "data",
    "stored_state",
    "topic",
    "chain",
}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client, *SUPERADMIN))


def whole_log(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every page of the log with ``params``, following ``next_after``."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get("/api/v1/audit/events", params={**params, "after": after}, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if not body["has_more"]:
            return items
        after = body["next_after"]


def test_the_global_log_pages_by_position_through_every_event_once(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    for name in ("ann", "ben", "cat"):
        register(client, f"{name}@example.com")
    policies_settled(container)
    head = container.head_position()

    first = client.get("/api/v1/audit/events", params={"limit": 4}, headers=admin).json()
    paged = whole_log(client, admin, limit=4)

    assert first["after"] == 0 and first["limit"] == 4 and first["has_more"] is True
    assert [e["position"] for e in first["items"]] == [1, 2, 3, 4]
    assert first["next_after"] == 4 and first["indexed_to"] is None
    stored = [n.id for n in container.log.recorder.select_notifications(start=1, limit=head)]
    assert [e["position"] for e in paged] == stored  # every event once, in order (gaps where a save rolled back)
    registered = [e for e in paged if e["type"] == "Account.Registered"]
    assert len(registered) == 4  # the superadmin and the three
    assert registered[1]["version"] == 1 and registered[1]["timestamp"].endswith("+00:00")
    assert registered[1]["data"]["password_hash"] == "[redacted]"
    assert "argon2" not in json.dumps(paged)


def test_everything_one_request_did_is_found_by_its_correlation_id(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    register(client, "first@example.com")
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "traced@example.com", "password": "s3cretpass", "first_name": "T", "last_name": "R"},
        headers={"X-Request-ID": "req-traced-1"},
    )
    register(client, "last@example.com")
    policies_settled(container)  # the free subscriptions are the policy's writes, under the request's correlation id
    position = response.json()["position"]

    found = client.get(
        "/api/v1/audit/events",
        params={"correlation_id": "req-traced-1", "min_position": container.head_position()},
        headers=admin,
    ).json()

    items = found["items"]
    assert found["indexed_to"] >= container.head_position()
    assert {e["correlation_id"] for e in items} == {"req-traced-1"}
    # The account's two events and its email claim: the request itself, nothing else ...
    request = [e for e in items if e["causation_id"] == "req-traced-1"]
    assert len(request) == 3 and request[-1]["position"] == position
    assert {e["actor"] for e in request} == {"anonymous"}
    assert {e["type"] for e in request} >= {"Account.Registered", "Account.EmailVerificationRequested"}
    assert len({e["stream_id"] for e in request}) == 2
    # ... and what the free-plan policy did because of it: caused by the registration, under its correlation.
    registered = next(e for e in request if e["type"] == "Account.Registered")
    policy = [e for e in items if e not in request]
    assert {e["type"] for e in policy} == {"Subscription.Started", "SubscriptionSlot.Opened", "SubscriptionSlot.Taken"}
    assert {e["causation_id"] for e in policy} == {f"{registered['stream_id']}:1"}
    assert {e["actor"] for e in policy} == {"system"} and min(e["position"] for e in policy) > position


def test_the_log_filters_by_stream_type_actor_and_time(
    client: TestClient, container: Chronicle, clock: Clock, admin: dict[str, str]
) -> None:
    ada = verified_account(client, container.settings.mail_folder, "ada@example.com")
    tokens = login(client, "ada@example.com")
    clock.advance(hours=1)
    later = clock.now
    client.patch("/api/v1/auth/me", json={"first_name": "Ada", "last_name": "Byron"}, headers=bearer(tokens))
    clock.advance(hours=1)
    register(client, "bob@example.com")
    wait = {"min_position": container.head_position()}

    stream = whole_log(client, admin, stream_id=ada, **wait)
    logins = whole_log(client, admin, type="Account.LoginSucceeded", **wait)
    by_ada = whole_log(client, admin, actor=ada, **wait)
    in_the_hour = whole_log(
        client, admin, since=later.isoformat(), before=(later + timedelta(minutes=59)).isoformat(), **wait
    )
    ada_in_the_hour = whole_log(client, admin, stream_id=ada, since=later.isoformat(), **wait)
    nothing = whole_log(client, admin, actor="nobody", **wait)

    assert [e["version"] for e in stream] == [1, 2, 3, 4, 5]
    assert {e["stream_id"] for e in stream} == {ada}
    assert {e["type"] for e in logins} == {"Account.LoginSucceeded"} and {e["stream_id"] for e in logins} >= {ada}
    assert [e["type"] for e in by_ada] == ["Account.ProfileUpdated"]  # a login is made by an anonymous caller
    assert [e["type"] for e in in_the_hour] == ["Account.ProfileUpdated"]
    assert [e["version"] for e in ada_in_the_hour] == [5]
    assert nothing == []


def test_a_filtered_page_waits_for_the_index_with_min_position_and_says_how_far_it_got(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    with hold_back(container, "audit_index"):
        written = client.post(
            "/api/v1/auth/register",
            json={"email": "late@example.com", "password": "s3cretpass", "first_name": "L", "last_name": "T"},
            headers={"X-Request-ID": "req-late"},
        ).json()
        behind = client.get("/api/v1/audit/events", params={"correlation_id": "req-late"}, headers=admin).json()
        too_late = client.get(
            "/api/v1/audit/events",
            params={"correlation_id": "req-late", "min_position": written["position"]},
            headers=admin,
        )
    caught_up = client.get(
        "/api/v1/audit/events",
        params={"correlation_id": "req-late", "min_position": written["position"]},
        headers=admin,
    ).json()

    assert behind["items"] == [] and behind["indexed_to"] < written["position"]
    assert too_late.status_code == 503 and too_late.json()["code"] == "projection_behind"
    request = [e for e in caught_up["items"] if e["causation_id"] == "req-late"]  # the free-plan policy's follow
    assert len(request) == 3 and caught_up["indexed_to"] >= written["position"]


def test_the_log_refuses_bad_filters(client: TestClient, admin: dict[str, str]) -> None:
    naive = client.get("/api/v1/audit/events", params={"since": "2026-12-01T08:00:00"}, headers=admin)
    big = client.get("/api/v1/audit/events", params={"limit": 501}, headers=admin)
    negative = client.get("/api/v1/audit/events", params={"after": -1}, headers=admin)
    long_type = client.get("/api/v1/audit/events", params={"type": "x" * 201}, headers=admin)
    not_a_stream = client.get("/api/v1/audit/events", params={"stream_id": "nope"}, headers=admin)

    assert [r.status_code for r in (naive, big, negative, long_type, not_a_stream)] == [422] * 5


def test_the_export_has_one_line_per_event_with_the_stored_bytes(
    client: TestClient, container: Chronicle, admin: dict[str, str]
) -> None:
    for name in ("dan", "eve"):
        register(client, f"{name}@example.com")
    policies_settled(container)
    head = container.head_position()

    response = client.get("/api/v1/audit/export", headers=admin)
    ranged = client.get("/api/v1/audit/export", params={"after": 2, "until": 5}, headers=admin)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.text.endswith("\n")
    lines = [json.loads(line) for line in response.text.splitlines()]
    stored = {n.id: n.state for n in container.log.recorder.select_notifications(start=1, limit=head)}
    # Every stored event once, in order (a save rolled back after drawing its positions leaves a gap).
    assert [line["position"] for line in lines] == sorted(stored)
    assert all(set(line) == EXPORT_KEYS for line in lines)
    assert all(base64.b64decode(line["stored_state"]) == stored[line["position"]] for line in lines)
    assert lines[0]["type"] == "Account.Registered" and lines[0]["data"]["password_hash"] == "[redacted]"
    assert [json.loads(line)["position"] for line in ranged.text.splitlines()] == [
        p for p in sorted(stored) if 2 < p <= 5
    ]
    # The API's items are the export's lines without the stored bytes and the hash chain's keys.
    page = client.get("/api/v1/audit/events", params={"limit": head}, headers=admin).json()["items"]
    assert page == [{k: v for k, v in line.items() if k not in {"stored_state", "topic", "chain"}} for line in lines]


def test_the_state_at_an_instant_is_the_last_version_written_by_then(
    client: TestClient, container: Chronicle, clock: Clock, admin: dict[str, str]
) -> None:
    born = clock.now
    account = verified_account(client, container.settings.mail_folder, "tt@example.com")
    tokens = bearer(login(client, "tt@example.com"))

    def rename(first_name: str) -> None:
        renamed = client.patch("/api/v1/auth/me", json={"first_name": first_name, "last_name": "N"}, headers=tokens)
        assert renamed.status_code == 200, renamed.text

    clock.advance(minutes=5)
    rename("Later")
    clock.advance(minutes=5)
    rename("Last")

    def state(**params: str) -> Any:
        return client.get(f"/api/v1/audit/streams/{account}/state", params=params, headers=admin)

    at_birth = state(at=born.isoformat())
    before_the_edit = state(at=(born + timedelta(minutes=1)).isoformat())
    after_the_edit = state(at=(born + timedelta(minutes=7)).isoformat())
    in_another_zone = state(at=(born + timedelta(minutes=7)).astimezone(timezone(timedelta(hours=5))).isoformat())
    now = state(at=(born + timedelta(minutes=11)).isoformat())
    too_early = state(at=(born - timedelta(seconds=1)).isoformat())
    naive = state(at=born.replace(tzinfo=None).isoformat())
    both = state(at=born.isoformat(), version="1")

    assert at_birth.status_code == 200 and at_birth.json()["version"] == 4  # registered, asked, verified, logged in
    assert before_the_edit.json() == at_birth.json()
    assert at_birth.json()["state"]["profile"]["first_name"] == "Ada"
    assert after_the_edit.json()["version"] == 5
    assert after_the_edit.json()["state"]["profile"]["first_name"] == "Later"
    assert in_another_zone.json() == after_the_edit.json()
    assert now.json()["version"] == 6 and now.json()["state"]["profile"]["first_name"] == "Last"
    assert too_early.status_code == 404 and too_early.json()["code"] == "stream_not_yet_written"
    assert naive.status_code == 422
    assert both.status_code == 422 and both.json()["code"] == "version_and_at"


def test_only_auditors_and_admins_read_the_log(client: TestClient, container: Chronicle, admin: dict[str, str]) -> None:
    user_id = verified_account(client, container.settings.mail_folder, "plain@example.com")
    user = bearer(login(client, "plain@example.com"))
    auditor_id = verified_account(client, container.settings.mail_folder, "auditor@example.com")
    assigned = client.post(f"/api/v1/accounts/{auditor_id}/roles", json={"role": "auditor"}, headers=admin)
    auditor = bearer(login(client, "auditor@example.com"))
    client.get("/api/v1/auth/me", params={"min_position": assigned.json()["position"]}, headers=auditor)
    routes = [
        "/api/v1/audit/events",
        f"/api/v1/audit/events?actor={user_id}",
        "/api/v1/audit/export",
        f"/api/v1/audit/streams/{user_id}/state?at={quote(datetime.now().astimezone().isoformat())}",
    ]

    as_user = [client.get(route, headers=user) for route in routes]
    anonymous = [client.get(route) for route in routes]
    as_auditor = [client.get(route, headers=auditor) for route in routes]
    as_admin = [client.get(route, headers=admin) for route in routes]

    assert [r.status_code for r in as_user] == [403] * len(routes)
    assert {r.json()["code"] for r in as_user} == {"forbidden"}
    assert "password_hash" not in "".join(r.text for r in as_user)
    assert [r.status_code for r in anonymous] == [401] * len(routes)
    assert [r.status_code for r in as_auditor] == [200] * len(routes)
    assert [r.status_code for r in as_admin] == [200] * len(routes)


def test_the_explorer_page_is_served_with_its_own_script_and_nothing_inline(client: TestClient) -> None:
    page = client.get("/explorer")
    script = client.get("/explorer/explorer.js")
    style = client.get("/explorer/explorer.css")
    other = client.get("/explorer/secrets.txt")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in page.headers["content-security-policy"]  # no inline script to allow
    assert '<script src="/explorer/explorer.js"' in page.text and "<script>" not in page.text
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text  # event data is written as text, never parsed as HTML
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert other.status_code == 404 and other.json()["code"] == "not_found"
