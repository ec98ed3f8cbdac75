"""Who may do what with plans, subscriptions and revenue: plans:manage for admins, billing:read for admins and
auditors, one's own subscription for every user, and no route that reads another user's subscription."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import eventually
from tests.e2e.subscriptions_helpers import PRO, SETTINGS, admin, create_plan, member, mine, post

pytestmark = pytest.mark.parametrize("settings", [SETTINGS], indirect=True)

PLAN_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/plans", {**PRO, "code": "other"}),
    ("/api/v1/plans/pro/price", {"price": "35.00"}),
    ("/api/v1/plans/pro/limits", {"limits": {"requests_per_minute": 5}, "features": []}),
    ("/api/v1/plans/pro/retire", {}),
]
MY_ROUTES = [
    ("get", "/api/v1/subscriptions/me"),
    ("get", "/api/v1/subscriptions/me/history"),
    ("get", "/api/v1/subscriptions/me/invoices"),
    ("get", "/api/v1/subscriptions/me/plan-change-preview?plan=pro"),
    ("post", "/api/v1/subscriptions/me/cancel"),
    ("get", "/api/v1/billing/revenue"),
]


def test_anonymous_callers_read_the_plan_list_and_nothing_else(client: TestClient, container: Chronicle) -> None:
    create_plan(client, admin(client))

    plans = client.get("/api/v1/plans")
    refused = [client.request(method, path, json={}) for method, path in MY_ROUTES]
    refused += [client.post(path, json=body) for path, body in PLAN_COMMANDS]

    assert plans.status_code == 200 and {p["code"] for p in plans.json()} == {"free", "pro"}
    assert [r.status_code for r in refused] == [401] * len(refused)


@pytest.mark.parametrize("role", ["user", "manager", "auditor"])
def test_only_admins_manage_plans(client: TestClient, container: Chronicle, role: str) -> None:
    create_plan(client, admin(client))
    someone = member(client, container, role)

    answers = [client.post(path, json=body, headers=someone.headers) for path, body in PLAN_COMMANDS]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(403, "forbidden")] * len(answers)


def test_admins_manage_plans_and_a_retired_plan_leaves_the_list(client: TestClient, container: Chronicle) -> None:
    boss = admin(client)
    create_plan(client, boss)

    answers = [client.post(path, json=body, headers=boss) for path, body in PLAN_COMMANDS]

    assert [a.status_code for a in answers] == [201, 200, 200, 200], [a.text for a in answers]
    listed = lambda: {p["code"] for p in client.get("/api/v1/plans").json()}  # noqa: E731
    eventually(lambda: listed() == {"free", "other"})  # retired: gone from the public list
    assert container.subscription_queries.plan("PRO") == {
        **container.subscription_queries.plan("pro"),  # type: ignore[dict-item]
        "active": False,
        "price": Decimal("35.00"),
        "limits": {"requests_per_minute": 5},
        "features": [],
    }


@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("user", 403), ("manager", 403)])
def test_the_revenue_view_needs_billing_read(client: TestClient, container: Chronicle, role: str, status: int) -> None:
    someone = member(client, container, role)

    answer = client.get("/api/v1/billing/revenue", headers=someone.headers)

    assert answer.status_code == status, answer.text
    assert client.get("/api/v1/billing/revenue", headers=admin(client)).status_code == 200


def test_each_member_reads_and_changes_only_their_own_subscription(client: TestClient, container: Chronicle) -> None:
    alice, bob = member(client, container), member(client, container)

    canceled = post(client, alice, "/cancel", {"at_period_end": False})
    hers, his = mine(client, alice, canceled.json()["position"]), mine(client, bob, canceled.json()["position"])

    assert hers["status"] == "canceled" and his["status"] == "active"
    assert hers["id"] != his["id"]
    assert all(entry["subscription_id"] == his["id"] for entry in mine(client, bob, path="/history")["items"])
