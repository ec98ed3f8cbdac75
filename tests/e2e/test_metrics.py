"""/metrics after real requests, who may read it, and the one JSON log line per request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.root import Chronicle
from infrastructure.shared.log_format import JsonLogFormatter
from interfaces.http.app import create_app
from tests.conftest import eventually, policies_settled
from tests.e2e.workshop import Workshop, order_body

METRICS_TOKEN = "metrics-token-for-the-suite-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def shop(client: TestClient, container: Chronicle) -> Workshop:
    return Workshop(client, container)


def scrape(client: TestClient) -> str:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


@pytest.mark.parametrize("settings", [{"metrics_token": METRICS_TOKEN}], indirect=True)
def test_metrics_count_requests_by_route_template_and_commands_by_outcome(shop: Workshop) -> None:
    client = shop.client
    before = scrape(client)
    order_id = shop.create("WO-M1")
    shop.create("WO-M2")
    missing = uuid4()
    assert client.get(f"/api/v1/work-orders/{missing}", headers=shop.manager.headers).status_code == 404
    assert client.get(f"/no/such/{missing}").status_code == 404
    taken = client.post("/api/v1/work-orders", json=order_body("WO-M1"), headers=shop.manager.headers)
    assert taken.status_code == 409
    stale = client.post(
        f"/api/v1/work-orders/{order_id}/cancel",
        json={"reason": "duplicate"},
        headers={**shop.manager.headers, "If-Match": '"7"'},
    )
    assert stale.json()["code"] == "version_mismatch", stale.text
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    create = {"method": "POST", "route": "/api/v1/work-orders"}
    assert grew("chronicle_http_requests_total", **create, status="201") == 2
    assert grew("chronicle_http_requests_total", **create, status="409") == 1
    detail = {"method": "GET", "route": "/api/v1/work-orders/{order_id}"}
    assert grew("chronicle_http_requests_total", **detail, status="404") == 1
    assert grew("chronicle_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert grew("chronicle_http_request_duration_seconds_count", **create) == 3
    assert str(missing) not in after  # never a raw path: the label set stays bounded
    assert grew("chronicle_commands_total", command="POST /api/v1/work-orders", outcome="accepted") == 2
    assert grew("chronicle_commands_total", command="POST /api/v1/work-orders", outcome="refused") == 1
    cancel = "POST /api/v1/work-orders/{order_id}/cancel"
    assert grew("chronicle_commands_total", command=cancel, outcome="conflict") == 1
    if shop.container.settings.database_url:  # group commit is PostgreSQL's
        assert grew("chronicle_append_duration_seconds_count") >= 2
        assert grew("chronicle_append_group_size_count") >= 2
        assert value(after, "chronicle_db_pool_connections", pool="event_store", state="max") >= 1
    assert value(after, "chronicle_db_pool_connections", pool="read_store", state="in_use") >= 0
    assert ("chronicle_db_pool_connections", (("pool", "read_store"), ("state", "in_use"))) in samples(after)


@pytest.mark.parametrize("settings", [{"metrics_token": METRICS_TOKEN}], indirect=True)
def test_metrics_show_each_projection_position_and_lag_from_the_store(shop: Workshop) -> None:
    shop.create("WO-P1")
    container = shop.container
    policies_settled(container)  # a quiet log (the free-plan policy writes after each registration)
    head = container.head_position()
    for runner in container.runners.values():
        runner.catch_up()
    eventually(lambda: all(container.stored_position(name) == head for name in container.runners))
    text = scrape(shop.client)

    assert value(text, "chronicle_store_up") == 1
    assert value(text, "chronicle_log_head_position") >= head
    for name in container.runners:
        position = value(text, "chronicle_projection_position", projection=name)
        assert position == container.stored_position(name)
        assert value(text, "chronicle_projection_failed", projection=name) == 0
        assert value(text, "chronicle_projection_lag", projection=name) == max(
            0, value(text, "chronicle_log_head_position") - position
        )
    assert value(text, "chronicle_projection_entries_total", projection="work_orders") >= 1


@pytest.fixture
def loopback_client(container: Chronicle) -> Iterator[TestClient]:
    with TestClient(create_app(root=container), client=("127.0.0.1", 50000)) as client:
        yield client


@pytest.mark.parametrize("settings", [{"metrics_token": METRICS_TOKEN}], indirect=True)
def test_only_allowed_addresses_or_the_token_read_the_metrics(client: TestClient, loopback_client: TestClient) -> None:
    refused = client.get("/metrics")  # the test client's address is not loopback
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})

    assert refused.status_code == 403 and refused.json()["code"] == "metrics_forbidden"
    assert refused.headers["content-type"] == "application/problem+json"
    assert wrong.status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    assert loopback_client.get("/metrics").status_code == 200  # METRICS_ALLOW_IPS: loopback by default


@pytest.mark.parametrize("settings", [{"metrics_allow_ips": ""}], indirect=True)
def test_without_a_token_and_without_allowed_addresses_nobody_reads_the_metrics(loopback_client: TestClient) -> None:
    assert loopback_client.get("/metrics").status_code == 403


def test_each_request_logs_one_json_line_with_request_id_actor_route_status_and_duration(shop: Workshop) -> None:
    client = shop.client
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonLogFormatter())  # as `chronicle serve` configures it
    logger = logging.getLogger("chronicle.http")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        created = client.post(
            "/api/v1/work-orders", json=order_body("WO-L1"), headers={**shop.manager.headers, "X-Request-ID": "req-L1"}
        )
        order_id = created.json()["id"]
        client.get(f"/api/v1/work-orders/{order_id}", headers={"X-Request-ID": "req-L2"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    lines = [json.loads(line) for line in written.getvalue().splitlines()]  # each line is one JSON object
    requests = [line for line in lines if line["message"] == "request"]
    assert [line["request_id"] for line in requests] == ["req-L1", "req-L2"]
    created_line, anonymous_line = requests
    assert created_line["actor"] == shop.manager.id
    assert created_line["route"] == "/api/v1/work-orders"
    assert created_line["method"] == "POST" and created_line["status"] == 201
    assert isinstance(created_line["ms"], float) and created_line["ms"] >= 0
    assert isinstance(created_line["pid"], int) and created_line["level"] == "info"
    assert anonymous_line["actor"] == "anonymous" and anonymous_line["status"] == 401
    assert anonymous_line["route"] == "/api/v1/work-orders/{order_id}"
    assert anonymous_line["path"] == f"/api/v1/work-orders/{order_id}"


@pytest.mark.parametrize("settings", [{"metrics_token": METRICS_TOKEN}], indirect=True)
def test_a_method_of_the_clients_own_invention_is_counted_as_other(client: TestClient) -> None:
    before = scrape(client)
    client.request("BREW", "/health")
    client.request("BREW-AGAIN", f"/no/such/{uuid4()}")
    after = scrape(client)

    assert "BREW" not in after
    grew = value(after, "chronicle_http_requests_total", method="other", route="/health", status="405") - value(
        before, "chronicle_http_requests_total", method="other", route="/health", status="405"
    )
    assert grew == 1
