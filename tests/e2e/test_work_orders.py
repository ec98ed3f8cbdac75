"""Work orders over HTTP: the life of an order, its rules as problems, queries, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.e2e.workshop import Workshop, ok, order_body, staff


@pytest.fixture
def shop(client: TestClient, container: Chronicle) -> Workshop:
    return Workshop(client, container)


def test_an_order_goes_from_creation_to_completion_and_its_timeline_tells_who_did_what(shop: Workshop) -> None:
    item_id = shop.item("ROD-1", stock="10")
    order_id = shop.started("WO-100")
    ok(shop.post(shop.welder, f"{order_id}/materials", {"item_id": item_id, "quantity": "2.5"}))
    ok(shop.post(shop.inspector, f"{order_id}/inspections", {"passed": True, "notes": "clean seams"}))
    done = ok(shop.post(shop.manager, f"{order_id}/complete"))

    detail = shop.read(f"/api/v1/work-orders/{order_id}")

    body = ok(detail)
    assert body["status"] == "completed" and body["version"] == done["version"]
    assert detail.headers["ETag"] == f'"{done["version"]}"'
    assert [(e["event"], e["actor"]) for e in body["timeline"]] == [
        ("Created", shop.manager.id),
        ("WelderAssigned", shop.manager.id),
        ("Started", shop.welder.id),
        ("MaterialConsumed", shop.welder.id),
        ("InspectionRecorded", shop.inspector.id),
        ("Completed", shop.manager.id),
    ]
    assert body["materials"] == [{"item_id": item_id, "sku": "ROD-1", "quantity": "2.500"}]
    item = ok(shop.read(f"/api/v1/inventory/{item_id}"))
    assert item["stock"] == "7.500"


def test_a_failed_inspection_sends_the_order_back_to_rework_and_it_can_pass_later(shop: Workshop) -> None:
    order_id = shop.inspected("WO-7", passed=False)

    refused = shop.post(shop.manager, f"{order_id}/complete")
    ok(shop.post(shop.manager, f"{order_id}/rework", {"reason": "porous weld"}))
    ok(shop.post(shop.welder, f"{order_id}/start"))
    ok(shop.post(shop.inspector, f"{order_id}/inspections", {"passed": True}))
    ok(shop.post(shop.manager, f"{order_id}/complete"))

    assert refused.status_code == 409
    assert refused.json()["code"] == "work_order_not_ready_for_completion"
    assert refused.headers["content-type"] == "application/problem+json"
    assert ok(shop.read(f"/api/v1/work-orders/{order_id}"))["status"] == "completed"


@pytest.mark.parametrize(
    ("steps", "path", "body", "code"),
    [
        ([], "start", None, "work_order_not_startable"),
        ([], "inspections", {"passed": True}, "work_order_not_in_progress"),
        (["assign", "start"], "complete", None, "work_order_not_ready_for_completion"),
        (["assign", "start"], "rework", {"reason": "x"}, "rework_needs_failed_inspection"),
        (["assign", "start", "pass", "complete"], "cancel", {"reason": "late"}, "work_order_completed"),
        (["cancel"], "assign", "welder", "work_order_cancelled"),
        (["assign", "start"], "assign", "other", "work_order_not_assignable"),
        (["assign"], "assign", "welder", "welder_already_assigned"),
    ],
)
def test_illegal_transitions_are_409_problems_with_a_stable_code(
    shop: Workshop, steps: list[str], path: str, body: object, code: str
) -> None:
    order_id = shop.create()
    welders = {"welder": shop.welder, "other": shop.other_welder}
    given = {
        "assign": (shop.manager, "assign", {"welder_id": shop.welder.id}),
        "start": (shop.welder, "start", None),
        "pass": (shop.inspector, "inspections", {"passed": True}),
        "complete": (shop.manager, "complete", None),
        "cancel": (shop.manager, "cancel", {"reason": "client withdrew"}),
    }
    for step in steps:
        member, step_path, step_body = given[step]
        ok(shop.post(member, f"{order_id}/{step_path}", step_body))
    if isinstance(body, str):
        body = {"welder_id": welders[body].id}
    actor = {"start": shop.welder, "inspections": shop.inspector}.get(path, shop.manager)

    response = shop.post(actor, f"{order_id}/{path}", body)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == code


def test_order_numbers_are_unique_in_any_letter_case(shop: Workshop) -> None:
    shop.create("WO-55")

    again = shop.client.post("/api/v1/work-orders", json=order_body(" wo-55 "), headers=shop.manager.headers)

    assert again.status_code == 409 and again.json()["code"] == "order_number_taken"


def test_invalid_orders_list_every_bad_field(shop: Workshop) -> None:
    body = order_body("bad number!", priority="whenever", due_date="31/01/2030", client="")

    response = shop.client.post("/api/v1/work-orders", json=body, headers=shop.manager.headers)

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"body.priority", "body.due_date", "body.client"} <= fields


def test_an_order_number_the_domain_refuses_is_a_422_naming_the_field(shop: Workshop) -> None:
    response = shop.client.post("/api/v1/work-orders", json=order_body("has space"), headers=shop.manager.headers)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_work_order"
    assert [e["field"] for e in response.json()["errors"]] == ["order_number"]


def test_a_welder_must_be_an_active_operator(shop: Workshop) -> None:
    order_id = shop.create()

    response = shop.post(shop.manager, f"{order_id}/assign", {"welder_id": shop.viewer.id})

    assert response.status_code == 422 and response.json()["code"] == "invalid_welder"


def test_consuming_more_than_the_stock_changes_neither_the_order_nor_the_item(shop: Workshop) -> None:
    item_id = shop.item("ROD-2", stock="1")
    order_id = shop.started("WO-2")
    before = ok(shop.read(f"/api/v1/work-orders/{order_id}"))["version"]

    response = shop.post(shop.welder, f"{order_id}/materials", {"item_id": item_id, "quantity": "1.5"})

    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert ok(shop.read(f"/api/v1/work-orders/{order_id}"))["version"] == before
    assert ok(shop.read(f"/api/v1/inventory/{item_id}"))["stock"] == "1.000"


def test_stock_adjustments_need_a_reason_and_never_go_below_zero(shop: Workshop) -> None:
    item_id = shop.item("ROD-3", stock="2")
    path = f"/api/v1/inventory/{item_id}/adjustments"

    below = shop.client.post(path, json={"delta": "-3", "reason": "count"}, headers=shop.manager.headers)
    no_reason = shop.client.post(path, json={"delta": "-1", "reason": " "}, headers=shop.manager.headers)
    fine = shop.client.post(path, json={"delta": "-1", "reason": "damaged"}, headers=shop.manager.headers)

    assert below.status_code == 409 and below.json()["code"] == "insufficient_stock"
    assert no_reason.status_code == 422
    assert fine.status_code == 200
    moves = ok(shop.read(f"/api/v1/inventory/{item_id}/movements"))["items"]
    assert [(m["kind"], m["quantity"], m["stock_after"], m["note"]) for m in moves] == [
        ("adjusted", "-1.000", "1.000", "damaged"),
        ("received", "2.000", "2.000", "initial"),
    ]


def test_skus_are_unique(shop: Workshop) -> None:
    shop.item("ROD-9")

    again = shop.client.post(
        "/api/v1/inventory", json={"sku": "rod-9", "name": "x", "unit": "kg"}, headers=shop.manager.headers
    )

    assert again.status_code == 409 and again.json()["code"] == "sku_taken"


def test_the_list_filters_sorts_and_pages(shop: Workshop, clock: Clock) -> None:
    today = clock().date()
    shop.create("A-1", client="Acme Steel", machine="MIG-1", due_date=str(today - timedelta(days=3)), priority="low")
    shop.create("A-2", client="ACME Boats", machine="TIG-2", due_date=str(today + timedelta(days=5)), priority="urgent")
    late_done = shop.create("B-1", client="Bolt Ltd", machine="MIG-1", due_date=str(today - timedelta(days=1)))
    ok(shop.post(shop.manager, f"{late_done}/cancel", {"reason": "client withdrew"}))
    mine = shop.started("B-2", client="Bolt Ltd", machine="TIG-2", due_date=str(today + timedelta(days=1)))

    def numbers(**params: object) -> list[str]:
        return [o["order_number"] for o in ok(shop.read("/api/v1/work-orders", **params))["items"]]

    assert numbers(sort="due_date") == ["A-1", "B-1", "B-2", "A-2"]
    by_priority = numbers(sort="-priority")
    assert by_priority[0] == "A-2" and by_priority[-1] == "A-1"  # B-1 and B-2 tie at "normal"
    assert numbers(sort="order_number", client="acme") == ["A-1", "A-2"]
    assert numbers(overdue=True) == ["A-1"]
    assert numbers(status="in_progress") == ["B-2"]
    assert numbers(welder_id=shop.welder.id) == ["B-2"]
    assert numbers(machine="MIG-1", sort="-due_date") == ["B-1", "A-1"]
    assert numbers(due_from=str(today), due_to=str(today + timedelta(days=2))) == ["B-2"]
    page = ok(shop.read("/api/v1/work-orders", limit=2, offset=2, sort="order_number"))
    assert [o["order_number"] for o in page["items"]] == ["B-1", "B-2"]
    assert page["total"] == 4 and page["has_more"] is False
    assert ok(shop.read(f"/api/v1/work-orders/{mine}"))["welder_id"] == shop.welder.id
    assert shop.read("/api/v1/work-orders", sort="client").status_code == 422


def test_the_dashboard_counts_statuses_overdue_pass_rate_cycle_time_and_low_stock(shop: Workshop, clock: Clock) -> None:
    today = clock().date()
    shop.item("LOW-1", stock="1", reorder_level="5")
    shop.item("OK-1", stock="50", reorder_level="5")
    shop.create("D-1", due_date=str(today - timedelta(days=2)))
    failed = shop.inspected("D-2", passed=False)
    ok(shop.post(shop.manager, f"{failed}/rework", {"reason": "cracks"}))
    passed = shop.inspected("D-3", passed=True)
    clock.advance(hours=6)
    ok(shop.post(shop.manager, f"{passed}/complete"))

    board = ok(shop.read("/api/v1/work-orders/dashboard"))

    assert board["by_status"]["open"] == 1
    assert board["by_status"]["rework"] == 1
    assert board["by_status"]["completed"] == 1
    assert sum(board["by_status"].values()) == 3
    assert board["overdue"] == 1
    assert board["inspections"] == 2 and board["inspection_pass_rate"] == 0.5
    assert board["completed_orders"] == 1 and board["average_cycle_hours"] == 6.0
    assert [item["sku"] for item in board["low_stock"]] == ["LOW-1"]


def test_a_reader_can_wait_for_its_own_write(shop: Workshop) -> None:
    created = ok(shop.client.post("/api/v1/work-orders", json=order_body("RYW-1"), headers=shop.manager.headers), 201)

    detail = shop.client.get(
        f"/api/v1/work-orders/{created['id']}",
        params={"min_position": created["position"]},
        headers=shop.viewer.headers,
    )

    assert detail.status_code == 200 and detail.json()["order_number"] == "RYW-1"


def test_inventory_levels_filter_search_and_sort(shop: Workshop) -> None:
    shop.item("ROD-1", stock="1", reorder_level="5")
    shop.item("GAS-1", stock="50", reorder_level="5")
    shop.item("ROD-2", stock="5", reorder_level="5")

    def skus(**params: object) -> list[str]:
        return [i["sku"] for i in ok(shop.read("/api/v1/inventory", **params))["items"]]

    assert skus() == ["GAS-1", "ROD-1", "ROD-2"]
    assert skus(low_stock=True) == ["ROD-1", "ROD-2"]  # at or below the reorder level
    assert skus(q="rod-", sort="-stock") == ["ROD-2", "ROD-1"]  # every name is "Welding rod"
    assert shop.read("/api/v1/inventory", sort="price").status_code == 422


def test_an_auditor_replays_a_work_order_to_any_version(
    shop: Workshop, client: TestClient, container: Chronicle
) -> None:
    auditor = staff(client, container, "auditor")
    order_id = shop.inspected("AUD-1", passed=False)

    events = ok(client.get(f"/api/v1/audit/streams/{order_id}/events", headers=auditor.headers))
    at_two = ok(client.get(f"/api/v1/audit/streams/{order_id}/state", params={"version": 2}, headers=auditor.headers))

    assert [e["type"] for e in events["events"]][-1].endswith("InspectionRecorded")
    assert at_two["state"]["status"] == "assigned"
