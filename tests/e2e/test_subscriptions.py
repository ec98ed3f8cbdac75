"""Subscriptions through HTTP, on PostgreSQL and the embedded store: the free plan at registration, an upgrade
paid with the offline gateway, renewals by the jobs' command, a failed renewal through dunning to unpaid (and
the free plan's limits), the revenue view, and the preview of a plan change."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.shared.commands import CommandContext
from infrastructure.root import Chronicle
from tests.conftest import Clock, eventually
from tests.e2e.helpers import PASSWORD
from tests.e2e.subscriptions_helpers import (
    PRO,
    SETTINGS,
    admin,
    advance,
    create_plan,
    member,
    mine,
    money,
    post,
)
from tests.e2e.test_work_order_import import csv_bytes

pytestmark = pytest.mark.parametrize("settings", [SETTINGS], indirect=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def policy(response: Any) -> str:
    return str(response.headers.get("RateLimit-Policy", ""))


def revenue(client: TestClient, headers: dict[str, str], position: int | None = None) -> dict[str, Any]:
    params = {"min_position": position} if position else {}
    answer = client.get("/api/v1/billing/revenue", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def import_orders(client: TestClient, headers: dict[str, str]) -> Any:
    table = csv_bytes([[f"IMP-{uuid4().hex[:8]}", "Acme", "Frame", "MIG-1", "2030-05-01", "high"]])
    return client.post("/api/v1/work-orders/import", files={"file": ("o.csv", table, "text/csv")}, headers=headers)


def test_a_new_account_is_on_the_free_plan_with_its_limits_and_no_bulk_import(
    client: TestClient, container: Chronicle
) -> None:
    manager = member(client, container, "manager")

    subscription = mine(client, manager)
    refused = import_orders(client, manager.headers)

    assert subscription["plan_code"] == "free" and subscription["status"] == "active"
    assert subscription["price"] == "0.00" and subscription["pending_change"] is None
    assert refused.status_code == 403 and refused.json()["code"] == "plan_feature_required"
    assert "bulk_import" in refused.json()["detail"]
    assert mine(client, manager, path="/invoices")["items"] == []
    history = eventually(lambda: mine(client, manager, path="/history")["items"])  # its own projection
    assert [entry["event"] for entry in history] == ["Started"]
    assert "payment_method" not in history[0]["details"]


def test_upgrade_renewal_failed_renewal_dunning_unpaid_and_back_to_free_limits(
    client: TestClient, container: Chronicle, clock: Clock
) -> None:
    boss = admin(client)
    create_plan(client, boss)
    manager = member(client, container, "manager")

    # Upgrade from free: a new monthly period from now, charged in full with pm_ok.
    assert post(client, manager, "/payment-method", {"payment_method": "pm_ok"}).status_code == 200
    upgraded = post(client, manager, "/plan", {"plan": "pro"})
    assert upgraded.status_code == 200, upgraded.text
    pro = mine(client, manager, upgraded.json()["position"])
    assert (pro["plan_code"], pro["status"], pro["price"]) == ("pro", "active", "30.00")
    invoices = mine(client, manager, upgraded.json()["position"], "/invoices")["items"]
    assert [(i["status"], money(i["total"])) for i in invoices] == [("paid", Decimal("30.00"))]
    figures = revenue(client, boss, upgraded.json()["position"])
    assert {(p["plan_code"], p["active_subscribers"], money(p["mrr"])) for p in figures["by_plan"]} == {
        ("pro", 1, Decimal("30.00"))
    }
    assert [(m["kind"], money(m["amount"])) for m in figures["movements"]] == [("new", Decimal("30.00"))]
    # The plan's limits and features apply: its rate limit within the cache time, and bulk import.
    eventually(lambda: '"account";q=1000;w=60' in policy(client.get("/api/v1/auth/me", headers=manager.headers)))
    assert import_orders(client, manager.headers).status_code == 201

    # The period ends: the jobs' command renews it and charges the next month.
    clock.now = at(pro["next_action_at"])
    assert pro["next_action_at"] == pro["period_end"]
    actions, position = advance(container, manager.id)
    assert actions == ("renew",)
    renewed = mine(client, manager, position)
    assert renewed["status"] == "active" and renewed["period_start"] == pro["period_end"]
    assert [i["status"] for i in mine(client, manager, position, "/invoices")["items"]] == ["paid", "paid"]
    assert advance(container, manager.id) == ((), None)  # nothing due twice: nothing written

    # The card is declined at the next renewal: past due, retried after 1, 3 and 5 days, then unpaid.
    changed = post(client, manager, "/payment-method", {"payment_method": "pm_declined"})
    clock.now = at(mine(client, manager, changed.json()["position"])["next_action_at"])
    failed_at = clock.now
    actions, position = advance(container, manager.id)
    assert actions == ("renew",)
    past_due = mine(client, manager, position)
    assert past_due["status"] == "past_due" and at(past_due["next_retry_at"]) == failed_at + timedelta(days=1)
    assert past_due["next_action_at"] == past_due["next_retry_at"]
    assert import_orders(client, manager.headers).status_code == 201  # past due keeps the plan
    assert revenue(client, boss, position)["by_plan"][0]["active_subscribers"] == 1  # and counts in MRR
    retries = []
    for _ in range(3):
        clock.now = at(mine(client, manager, position)["next_action_at"])
        retries.append((clock.now - failed_at).days)
        actions, position = advance(container, manager.id)
        assert actions == ("retry",)
    unpaid = mine(client, manager, position)

    assert retries == [1, 3, 5]
    assert unpaid["status"] == "unpaid" and unpaid["next_action_at"] is None
    invoice = mine(client, manager, position, "/invoices")["items"][0]
    assert invoice["status"] == "open" and invoice["attempts"] == 4 and invoice["last_failure"] == "declined"
    # Unpaid: the free plan's limits (the default account quota) and no bulk import; churned from MRR.
    refused = import_orders(client, manager.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "plan_feature_required"
    eventually(lambda: '"account";q=1000;' not in policy(client.get("/api/v1/auth/me", headers=manager.headers)))
    figures = revenue(client, boss, position)
    assert figures["by_plan"] == [] and figures["mrr_by_currency"] == {}
    moved = {m["kind"]: money(m["amount"]) for m in figures["movements"]}
    assert moved == {"churned": Decimal("-30.00")}  # the upgrade (new) was two months ago: out of the window
    assert figures["churn"]["churned_subscribers"] == 1 and figures["churn"]["rate"] == 1.0


def test_a_plan_change_preview_lists_the_proration_and_changes_nothing(
    client: TestClient, container: Chronicle, clock: Clock
) -> None:
    boss = admin(client)
    create_plan(client, boss)
    create_plan(client, boss, code="team", name="Team", price="90.00")
    user = member(client, container)
    post(client, user, "/payment-method", {"payment_method": "pm_ok"})
    upgraded = post(client, user, "/plan", {"plan": "pro"}).json()
    clock.advance(days=10)

    preview = client.get("/api/v1/subscriptions/me/plan-change-preview", params={"plan": "team"}, headers=user.headers)
    downgrade = client.get(
        "/api/v1/subscriptions/me/plan-change-preview", params={"plan": "free"}, headers=user.headers
    )

    assert preview.status_code == 200, preview.text
    lines = preview.json()["lines"]
    assert {line["kind"] for line in lines} == {"credit", "charge"}
    assert money(preview.json()["total"]) == sum((money(line["amount"]) for line in lines), Decimal(0)) > 0
    assert all(money(line["amount"]) <= 0 for line in lines if line["kind"] == "credit")
    assert downgrade.status_code == 200 and downgrade.json()["lines"] == []
    assert mine(client, user, upgraded["position"])["version"] == upgraded["version"]


def test_a_downgrade_waits_for_the_period_end_and_a_cancellation_at_period_end_can_be_revoked(
    client: TestClient, container: Chronicle, clock: Clock
) -> None:
    create_plan(client, admin(client))
    user = member(client, container)
    post(client, user, "/payment-method", {"payment_method": "pm_ok"})
    post(client, user, "/plan", {"plan": "pro"})

    scheduled = post(client, user, "/plan", {"plan": "free"})
    pending = mine(client, user, scheduled.json()["position"])
    cancel = post(client, user, "/cancel", {"at_period_end": True})
    set_to_cancel = mine(client, user, cancel.json()["position"])
    revoked = post(client, user, "/revoke-cancellation")
    kept = mine(client, user, revoked.json()["position"])

    assert pending["plan_code"] == "pro" and pending["pending_change"]["plan_code"] == "free"
    assert set_to_cancel["cancel_at_period_end"] is True and set_to_cancel["pending_change"] is None
    assert kept["cancel_at_period_end"] is False and kept["status"] == "active"
    again = post(client, user, "/revoke-cancellation")
    assert again.status_code == 409 and again.json()["code"] == "no_cancellation_scheduled"
    assert PRO["code"] == kept["plan_code"]


def test_a_change_of_the_plans_limits_reaches_its_subscribers_rate_limit_within_seconds(
    client: TestClient, container: Chronicle
) -> None:
    boss = admin(client)
    create_plan(client, boss)
    user = member(client, container)
    post(client, user, "/payment-method", {"payment_method": "pm_ok"})
    assert post(client, user, "/plan", {"plan": "pro"}).status_code == 200
    eventually(lambda: '"account";q=1000;' in policy(client.get("/api/v1/auth/me", headers=user.headers)))

    changed = client.post(
        "/api/v1/plans/pro/limits", json={"limits": {"requests_per_minute": 7}, "features": []}, headers=boss
    )
    assert changed.status_code == 200, changed.text
    eventually(lambda: '"account";q=7;' in policy(client.get("/api/v1/auth/me", headers=user.headers)), timeout=20)
    answers = [client.get("/api/v1/auth/me", headers=user.headers) for _ in range(8)]

    assert 429 in {a.status_code for a in answers}
    assert client.get("/api/v1/accounts", headers=boss).status_code == 200  # admins: no plan limit


def test_closing_an_account_ends_its_paid_subscription_and_bills_nothing_more(
    client: TestClient, container: Chronicle, clock: Clock
) -> None:
    boss = admin(client)
    create_plan(client, boss)
    leaver = member(client, container)
    assert post(client, leaver, "/payment-method", {"payment_method": "pm_ok"}).status_code == 200
    upgraded = post(client, leaver, "/plan", {"plan": "pro"})
    assert upgraded.status_code == 200, upgraded.text
    paid = mine(client, leaver, upgraded.json()["position"])

    closed = client.post("/api/v1/auth/me/close", json={"password": PASSWORD}, headers=leaver.headers)
    assert closed.status_code == 200, closed.text

    app, account = container.subscriptions, UUID(leaver.id)
    eventually(lambda: app.subscription_of(account).status == "canceled", timeout=30)
    ended = app.subscription_of(account)
    assert (ended.id, ended.ended_at) == (UUID(paid["id"]), clock.now)

    def churned() -> dict[str, Any] | None:
        figures = revenue(client, boss)
        return figures if any(m["kind"] == "churned" for m in figures["movements"]) else None

    figures = eventually(churned, timeout=30)
    assert sorted(m["kind"] for m in figures["movements"]) == ["churned", "new"] and figures["by_plan"] == []
    clock.now = at(paid["period_end"]) + timedelta(days=1)  # the renewal would be due: nothing is, for a closed account
    assert app.subscription_id_of(account) == ended.id
    assert app.advance(CommandContext.system("test", clock.now), ended.id, clock.now).actions == ()
