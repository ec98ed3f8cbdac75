"""Billing webhooks through HTTP, on both stores: a pending charge settled by a signed event, a replay that
changes nothing, and bad, stale, missing or foreign signatures refused before anything is read."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.e2e.subscriptions_helpers import SETTINGS, admin, create_plan, member, mine, post, webhook
from tests.e2e.workshop import Member, ok

pytestmark = pytest.mark.parametrize("settings", [SETTINGS], indirect=True)


def pending_upgrade(client: TestClient, container: Chronicle) -> tuple[Member, str, int]:
    """A member upgraded to pro with a card whose charge stays pending: (member, the attempt's id, position)."""
    create_plan(client, admin(client))
    user = member(client, container)
    post(client, user, "/payment-method", {"payment_method": "pm_pending"})
    upgraded = ok(post(client, user, "/plan", {"plan": "pro"}))
    history = mine(client, user, upgraded["position"], "/history")["items"]
    attempt_id = next(e["details"]["attempt_id"] for e in history if e["event"] == "PaymentPending")
    return user, str(attempt_id), int(upgraded["position"])


def event(attempt_id: str, kind: str = "payment_succeeded", event_id: str = "evt_1") -> dict[str, Any]:
    return {"id": event_id, "type": kind, "data": {"attempt_id": attempt_id}}


def test_a_signed_webhook_settles_the_pending_charge_and_its_replay_changes_nothing(
    client: TestClient, container: Chronicle
) -> None:
    user, attempt_id, position = pending_upgrade(client, container)
    assert mine(client, user, position, "/invoices")["items"][0]["status"] == "open"

    first = webhook(client, event(attempt_id))
    head = container.head_position()
    replay = webhook(client, event(attempt_id))
    again_later = webhook(client, event(attempt_id), at=time.time() + 60)

    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True and first.json()["changed"] is True
    paid = mine(client, user, first.json()["position"], "/invoices")["items"][0]
    assert paid["status"] == "paid" and paid["paid_at"] is not None
    for answer in (replay, again_later):
        assert answer.status_code == 200 and answer.json()["applied"] is False
    assert container.head_position() == head  # a replay writes nothing


def test_a_failed_payment_webhook_is_recorded_with_its_reason(client: TestClient, container: Chronicle) -> None:
    user, attempt_id, _ = pending_upgrade(client, container)

    failed = webhook(
        client,
        {**event(attempt_id, "payment_failed"), "data": {"attempt_id": attempt_id, "reason": "insufficient_funds"}},
    )

    assert failed.status_code == 200, failed.text
    invoice = mine(client, user, failed.json()["position"], "/invoices")["items"][0]
    assert invoice["status"] == "open" and invoice["last_failure"] == "insufficient_funds"


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("wrong secret", "invalid_signature"),
        ("stale", "stale_signature"),
        ("from the future", "stale_signature"),
        ("no header", "invalid_signature"),
        ("tampered body", "invalid_signature"),
    ],
)
def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(
    client: TestClient, container: Chronicle, how: str, code: str
) -> None:
    user, attempt_id, position = pending_upgrade(client, container)
    head = container.head_position()
    body = event(attempt_id)
    if how == "wrong secret":
        answer = webhook(client, body, secret="whsec_someone_else_0123456789ab")
    elif how == "stale":
        answer = webhook(client, body, at=time.time() - 301)
    elif how == "from the future":
        answer = webhook(client, body, at=time.time() + 301)
    elif how == "no header":
        answer = client.post("/api/v1/billing/webhooks/offline", json=body)
    else:
        signed = webhook(client, {**body, "id": "evt_other"})
        assert signed.status_code == 200  # a real event (not a pending attempt any more), then tampered:
        request = signed.request
        tampered = request.content.replace(b"evt_other", b"evt_forged")
        answer = client.post(request.url.path, content=tampered, headers=dict(request.headers))
        head = container.head_position()

    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == code
    assert container.head_position() == head
    if how != "tampered body":
        assert mine(client, user, position, "/invoices")["items"][0]["status"] == "open"


def test_an_unknown_provider_is_not_found_and_a_bad_event_is_a_validation_problem(
    client: TestClient, container: Chronicle
) -> None:
    foreign = client.post("/api/v1/billing/webhooks/stripe", json={}, headers={"Chronicle-Signature": "t=1,v1=00"})
    invalid = webhook(client, {"id": "evt_x", "type": "charge.refunded", "data": {}})
    unknown = webhook(client, event("00000000-0000-4000-8000-000000000000", event_id="evt_unknown"))

    assert foreign.status_code == 404 and foreign.json()["code"] == "unknown_provider"
    assert invalid.status_code == 422
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_payment_attempt"
