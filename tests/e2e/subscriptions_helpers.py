"""Helpers for the subscriptions end-to-end tests: members, plans, signed webhooks, waiting for a read model."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from application.shared.commands import CommandContext
from infrastructure.root import Chronicle
from infrastructure.subscriptions.signatures import SIGNATURE_HEADER, sign
from tests.conftest import SUPERADMIN, eventually
from tests.e2e.helpers import bearer, login
from tests.e2e.workshop import Member, ok, staff

WEBHOOK_SECRET = "whsec_test_6c1f0a9e8d7b4c2a9e3f5d1b"
SETTINGS = {"webhook_secret": WEBHOOK_SECRET, "plan_limits_cache_seconds": 0.5}
PRO: dict[str, Any] = {
    "code": "pro",
    "name": "Pro",
    "price": "30.00",
    "currency": "USD",
    "interval": "month",
    "features": ["bulk_import"],
    "limits": {"requests_per_minute": 1000},
}
ME = "/api/v1/subscriptions/me"


def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client, *SUPERADMIN))


def member(client: TestClient, container: Chronicle, role: str = "user") -> Member:
    """A new account, once the free-plan policy has subscribed it and the read model shows it."""
    new = staff(client, container, role)
    answers: list[Any] = []

    def subscribed() -> bool:
        answers.append(client.get(ME, headers=new.headers))
        return bool(answers[-1].status_code == 200)

    try:
        eventually(subscribed, timeout=30)
    except AssertionError:
        raise AssertionError(f"no subscription for {new.id}: {answers[-1].status_code} {answers[-1].text}") from None
    return new


def create_plan(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    created = ok(client.post("/api/v1/plans", json={**PRO, **fields}, headers=headers), 201)
    code = fields.get("code", PRO["code"])
    eventually(lambda: any(p["code"] == code for p in client.get("/api/v1/plans").json()))
    return created


def mine(client: TestClient, who: Member, position: int | None = None, path: str = "") -> dict[str, Any]:
    params = {"min_position": position} if position else {}
    return ok(client.get(f"{ME}{path}", params=params, headers=who.headers))


def post(client: TestClient, who: Member, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"{ME}{path}", json=body, headers=who.headers)


def advance(container: Chronicle, account_id: str) -> tuple[tuple[str, ...], int | None]:
    """What the jobs do for the account's subscription at the clock's now: the moves made, and the log position."""
    app = container.subscriptions
    subscription_id = app.subscription_id_of(UUID(account_id))
    assert subscription_id is not None
    now = container.clock()
    ctx = CommandContext.system(f"advance:{subscription_id}:{now.isoformat()}", now)
    outcome = app.advance(ctx, subscription_id, now)
    return outcome.actions, outcome.result.position if outcome.result is not None else None


def webhook(client: TestClient, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, at: float | None = None) -> Any:
    body = json.dumps(event).encode()
    header = sign(secret, int(time.time() if at is None else at), body)
    headers = {SIGNATURE_HEADER: header, "Content-Type": "application/json"}
    return client.post("/api/v1/billing/webhooks/offline", content=body, headers=headers)


def money(value: Any) -> Decimal:
    return Decimal(str(value))
