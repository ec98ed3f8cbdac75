"""Helpers for the work-order end-to-end tests: staff with roles, and orders in a given state."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from application.shared.commands import CommandContext
from domain.accounts.values import Profile
from domain.subscriptions.errors import PlanCodeTaken
from infrastructure.root import Chronicle
from tests.conftest import eventually
from tests.e2e.helpers import PASSWORD, bearer, login

IMPORT_PLAN = "workshop"


@dataclass
class Member:
    id: str
    headers: dict[str, str]


def staff(client: TestClient, container: Chronicle, role: str) -> Member:
    """A verified account holding ``role``, logged in over HTTP."""
    email = f"{role}-{uuid4().hex[:8]}@example.com"
    ctx = CommandContext(actor="test", correlation_id="setup", causation_id="setup", now=container.clock())
    result = container.accounts.register_account(
        ctx, email=email, password=PASSWORD, profile=Profile("Test", role.title()), roles=[role], verified=True
    )
    member = Member(str(result.id), bearer(login(client, email)))
    # The caller is authorized from the accounts read model: wait until it holds this session (else 503).
    eventually(lambda: client.get("/api/v1/auth/me", headers=member.headers).status_code == 200, timeout=30)
    return member


def with_bulk_import(container: Chronicle, member: Member) -> Member:
    """Move ``member`` from the free plan to a paid one with the ``bulk_import`` feature (paid with pm_ok)."""
    ctx = CommandContext(actor="test", correlation_id="setup", causation_id="setup", now=container.clock())
    app, account = container.subscriptions, UUID(member.id)
    with contextlib.suppress(PlanCodeTaken):
        app.create_plan(
            ctx,
            code=IMPORT_PLAN,
            name="Workshop",
            price=Decimal("49.00"),
            currency="USD",
            interval="month",
            features=["bulk_import"],
        )
    eventually(lambda: app.subscription_id_of(account))  # the free-plan policy subscribed the new account
    app.update_payment_method(ctx, account, "pm_ok")
    app.change_subscription_plan(ctx, account, IMPORT_PLAN)
    eventually(lambda: container.subscription_queries.limits_for(account).allows("bulk_import"))
    return member


def order_body(number: str = "WO-1", **fields: Any) -> dict[str, Any]:
    return {
        "order_number": number,
        "client": "Acme Steel",
        "description": "Weld the frame",
        "machine": "MIG-1",
        "due_date": "2030-01-31",
        "priority": "normal",
        **fields,
    }


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


class Workshop:
    """A manager, two welders, an inspector and a viewer, and shortcuts for the usual steps."""

    def __init__(self, client: TestClient, container: Chronicle) -> None:
        self.client = client
        self.container = container
        self.manager = staff(client, container, "manager")
        self.welder = staff(client, container, "operator")
        self.other_welder = staff(client, container, "operator")
        self.inspector = staff(client, container, "inspector")
        self.viewer = staff(client, container, "viewer")

    def create(self, number: str = "WO-1", **fields: Any) -> str:
        body = ok(
            self.client.post("/api/v1/work-orders", json=order_body(number, **fields), headers=self.manager.headers),
            201,
        )
        return str(body["id"])

    def item(self, sku: str = "ROD-1", stock: str = "10", reorder_level: str = "2") -> str:
        item = {"sku": sku, "name": "Welding rod", "unit": "kg", "reorder_level": reorder_level}
        item_id = str(ok(self.client.post("/api/v1/inventory", json=item, headers=self.manager.headers), 201)["id"])
        if stock != "0":
            receipt = {"quantity": stock, "note": "initial"}
            ok(self.client.post(f"/api/v1/inventory/{item_id}/receipts", json=receipt, headers=self.manager.headers))
        return item_id

    def post(self, member: Member, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1/work-orders/{path}", json=body, headers=member.headers)

    def started(self, number: str = "WO-1", **fields: Any) -> str:
        order_id = self.create(number, **fields)
        ok(self.post(self.manager, f"{order_id}/assign", {"welder_id": self.welder.id}))
        ok(self.post(self.welder, f"{order_id}/start"))
        return order_id

    def inspected(self, number: str = "WO-1", *, passed: bool = True) -> str:
        order_id = self.started(number)
        ok(self.post(self.inspector, f"{order_id}/inspections", {"passed": passed, "notes": "checked"}))
        return order_id

    def read(self, path: str, member: Member | None = None, **params: Any) -> Any:
        params.setdefault("min_position", self.container.head_position())
        return self.client.get(path, params=params, headers=(member or self.viewer).headers)
