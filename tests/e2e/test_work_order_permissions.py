"""Who may do what in the workshop: every forbidden call is a 403 problem, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import policies_settled
from tests.e2e.workshop import Member, Workshop, order_body, staff

# (the route, and the roles that may call it); every other role must get 403.
Call = Callable[[Workshop, dict[str, str]], tuple[str, str, dict[str, Any] | None]]

CREATE: Call = lambda shop, ids: ("POST", "/api/v1/work-orders", order_body("P-NEW"))  # noqa: E731
RULES: list[tuple[str, Call, set[str]]] = [
    ("create an order", CREATE, {"manager", "admin"}),
    (
        "assign a welder",
        lambda shop, ids: ("POST", f"/api/v1/work-orders/{ids['open']}/assign", {"welder_id": shop.welder.id}),
        {"manager", "admin"},
    ),
    (
        "cancel an order",
        lambda shop, ids: ("POST", f"/api/v1/work-orders/{ids['open']}/cancel", {"reason": "no"}),
        {"manager", "admin"},
    ),
    (
        "complete an order",
        lambda shop, ids: ("POST", f"/api/v1/work-orders/{ids['open']}/complete", None),
        {"manager", "admin"},
    ),
    (
        "send to rework",
        lambda shop, ids: ("POST", f"/api/v1/work-orders/{ids['open']}/rework", {"reason": "x"}),
        {"manager", "admin"},
    ),
    (
        "register an item",
        lambda shop, ids: ("POST", "/api/v1/inventory", {"sku": "P-1", "name": "x", "unit": "kg"}),
        {"manager", "admin"},
    ),
    (
        "receive stock",
        lambda shop, ids: ("POST", f"/api/v1/inventory/{ids['item']}/receipts", {"quantity": "1"}),
        {"manager", "admin"},
    ),
    (
        "adjust stock",
        lambda shop, ids: ("POST", f"/api/v1/inventory/{ids['item']}/adjustments", {"delta": "1", "reason": "count"}),
        {"manager", "admin"},
    ),
    (
        "start work",
        lambda shop, ids: ("POST", f"/api/v1/work-orders/{ids['assigned']}/start", None),
        {"operator", "admin"},
    ),
    (
        "consume material",
        lambda shop, ids: (
            "POST",
            f"/api/v1/work-orders/{ids['started']}/materials",
            {"item_id": ids["item"], "quantity": "1"},
        ),
        {"operator", "admin"},
    ),
    (
        "record an inspection",
        lambda shop, ids: ("POST", f"/api/v1/work-orders/{ids['started']}/inspections", {"passed": True}),
        {"inspector", "admin"},
    ),
    ("list orders", lambda shop, ids: ("GET", "/api/v1/work-orders", None), {"*reader"}),
    ("read an order", lambda shop, ids: ("GET", f"/api/v1/work-orders/{ids['open']}", None), {"*reader"}),
    ("read the dashboard", lambda shop, ids: ("GET", "/api/v1/work-orders/dashboard", None), {"*reader"}),
    ("list inventory", lambda shop, ids: ("GET", "/api/v1/inventory", None), {"*reader"}),
    ("read an item", lambda shop, ids: ("GET", f"/api/v1/inventory/{ids['item']}", None), {"*reader"}),
    ("read movements", lambda shop, ids: ("GET", f"/api/v1/inventory/{ids['item']}/movements", None), {"*reader"}),
]
READERS = {"manager", "operator", "inspector", "viewer", "auditor", "admin"}
ROLES = ["manager", "operator", "inspector", "viewer", "auditor", "user"]


@pytest.fixture
def store() -> str:
    """Permissions do not depend on the store: these run on PostgreSQL only."""
    return "postgres"


@pytest.fixture
def setting(client: TestClient, container: Chronicle) -> tuple[Workshop, dict[str, str], dict[str, Member]]:
    shop = Workshop(client, container)
    ids = {"item": shop.item("RULE-1", stock="5"), "open": shop.create("P-OPEN"), "started": shop.started("P-STARTED")}
    ids["assigned"] = shop.create("P-ASSIGNED")
    shop.post(shop.manager, f"{ids['assigned']}/assign", {"welder_id": shop.welder.id})
    members = {role: staff(client, container, role) for role in ROLES if role not in {"manager", "viewer", "operator"}}
    members.update(manager=shop.manager, viewer=shop.viewer, operator=shop.welder)
    policies_settled(container)  # new accounts' free subscriptions are written before a test counts writes
    return shop, ids, members


@pytest.mark.parametrize(("action", "call", "allowed"), RULES, ids=[rule[0] for rule in RULES])
def test_a_role_without_the_permission_gets_403_and_writes_nothing(
    setting: tuple[Workshop, dict[str, str], dict[str, Member]],
    container: Chronicle,
    action: str,
    call: Call,
    allowed: set[str],
) -> None:
    shop, ids, members = setting
    permitted = READERS if allowed == {"*reader"} else allowed
    method, path, body = call(shop, ids)
    head = container.head_position()
    refused = {}
    for role in ROLES:
        if role in permitted:
            continue
        response = shop.client.request(method, path, json=body, headers=members[role].headers)
        refused[role] = (response.status_code, response.json().get("code"))

    assert refused, f"every role may {action}; the rule tests nothing"
    assert refused == {role: (403, "forbidden") for role in refused}
    assert container.head_position() == head


def test_an_operator_works_only_on_orders_assigned_to_them(
    setting: tuple[Workshop, dict[str, str], dict[str, Member]], container: Chronicle
) -> None:
    shop, ids, _ = setting
    head = container.head_position()

    start = shop.post(shop.other_welder, f"{ids['assigned']}/start")
    consume = shop.post(shop.other_welder, f"{ids['started']}/materials", {"item_id": ids["item"], "quantity": "1"})

    assert (start.status_code, start.json()["code"]) == (403, "not_assigned_welder")
    assert (consume.status_code, consume.json()["code"]) == (403, "not_assigned_welder")
    assert container.head_position() == head


def test_anonymous_callers_are_told_to_authenticate(
    setting: tuple[Workshop, dict[str, str], dict[str, Member]],
) -> None:
    shop, _, _ = setting

    assert shop.client.get("/api/v1/work-orders").status_code == 401
    assert shop.client.post("/api/v1/work-orders", json=order_body("ANON")).status_code == 401
