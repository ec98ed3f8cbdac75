"""A rebuild over HTTP while real HTTP queries keep running: no row they saw ever goes missing.

The log is seeded with 100k events through the work-order import (two events per order, 5,000
orders per save) so the seeding stays bounded; the server is a real uvicorn on a local port.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from application.shared.commands import CommandContext
from domain.work_orders.new_order import NewWorkOrder
from infrastructure.root import Chronicle
from infrastructure.shared.settings import Settings
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN, Clock, eventually
from tests.e2e.helpers import free_port

ORDERS = 50_000  # 100k events: each order and its number's claim
CHUNK = 5_000


def system(clock: Clock) -> CommandContext:
    return CommandContext(actor="seed", correlation_id="seed", causation_id="seed", now=clock())


def seed(container: Chronicle, clock: Clock, prefix: str, count: int) -> None:
    today = clock().date()
    for start in range(0, count, CHUNK):
        rows = [
            (n + 2, NewWorkOrder(f"{prefix}-{n}", f"Client {n % 7}", "Job", f"M-{n % 5}", today, "normal"))
            for n in range(start, min(count, start + CHUNK))
        ]
        container.work_orders.import_work_orders(system(clock), rows)


@pytest.fixture
def server(settings: Settings, clock: Clock) -> Iterator[tuple[str, Chronicle]]:
    """The API on a real port, with only the accounts and work-orders projections running beside it."""
    container = Chronicle(settings, clock=clock)
    container.start(run_projections=False)
    stop = threading.Event()
    threads = []
    try:
        seed(container, clock, "SEED", ORDERS)
        for name in ("accounts", "work_orders"):
            thread = threading.Thread(target=container.runners[name].run, args=(stop,), daemon=True)
            thread.start()
            threads.append(thread)
        port = free_port()
        config = uvicorn.Config(
            create_app(root=container), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
        web = uvicorn.Server(config)
        serving = threading.Thread(target=web.run, daemon=True)
        serving.start()
        eventually(lambda: web.started, timeout=30)
        try:
            yield f"http://127.0.0.1:{port}", container
        finally:
            web.should_exit = True
            serving.join(10)
    finally:
        stop.set()
        for name in ("accounts", "work_orders"):
            container.runners[name].wake.set()
        for thread in threads:
            thread.join(10)
        container.close()


@pytest.mark.parametrize("store", ["postgres"])
def test_given_100k_events_when_work_orders_are_rebuilt_over_http_then_queries_never_miss_a_row(
    server: tuple[str, Chronicle], clock: Clock
) -> None:
    base, container = server
    with httpx.Client(base_url=base, timeout=30) as http:
        token = eventually(lambda: _login(http), timeout=120)
        headers = {"Authorization": f"Bearer {token}"}
        eventually(lambda: container.stored_position("work_orders") == container.head_position(), timeout=300)
        problems: list[str] = []
        requests = [0]
        stop = threading.Event()

        def query() -> None:
            """Lists pages and reads orders seen before; every total and every seen order stays."""
            seen: list[str] = []
            highest = 0
            with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
                while not stop.is_set():
                    offset = random.randrange(0, ORDERS - 50)
                    page = client.get("/api/v1/work-orders", params={"limit": 50, "offset": offset})
                    requests[0] += 1
                    if page.status_code != 200:
                        problems.append(f"list answered {page.status_code}")
                        continue
                    body = page.json()
                    if body["total"] < highest or len(body["items"]) != 50:
                        problems.append(f"total {body['total']} after {highest}, {len(body['items'])} items")
                    highest = max(highest, body["total"])
                    seen.extend(item["id"] for item in body["items"][:2])
                    for order_id in random.sample(seen, min(3, len(seen))):
                        answer = client.get(f"/api/v1/work-orders/{order_id}")
                        requests[0] += 1
                        if answer.status_code != 200:
                            problems.append(f"order {order_id} seen before answered {answer.status_code}")

        readers = [threading.Thread(target=query) for _ in range(2)]
        for reader in readers:
            reader.start()
        try:
            time.sleep(0.5)
            started = http.post("/api/v1/projections/work_orders/rebuild", headers=headers)
            assert started.status_code == 202, started.text
            job = started.json()["job_id"]
            shown = http.get("/api/v1/projections", headers=headers).json()
            assert next(item for item in shown if item["name"] == "work_orders")["rebuild"]["job_id"] == job
            again = http.post("/api/v1/projections/work_orders/rebuild", headers=headers)
            assert again.status_code == 409, again.text
            assert again.json()["code"] == "rebuild_running"
            during = requests[0]
            seed(container, clock, "LATE", 10)  # written while the shadow is built: in the swapped model too
            progress: list[dict[str, Any]] = []

            def finished() -> dict[str, Any] | None:
                states = http.get("/api/v1/projections", headers=headers).json()
                state = next(item for item in states if item["name"] == "work_orders")
                progress.append(state["rebuild"])
                return state if state["rebuild"]["state"] != "running" else None

            final = eventually(finished, timeout=600, interval=0.2)
        finally:
            stop.set()
            for reader in readers:
                reader.join(60)

    assert problems == []
    assert requests[0] > during  # queries ran while the rebuild did
    rebuild = final["rebuild"]
    assert rebuild["job_id"] == job
    assert rebuild["state"] == "swapped", rebuild
    assert rebuild["report"]["differs"] is False
    assert rebuild["report"]["position"] >= 100_000
    assert any(step["state"] == "running" and 0 < step["position"] < step["head"] for step in progress), progress
    with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
        assert http.get("/api/v1/work-orders", params={"limit": 1}).json()["total"] == ORDERS + 10


def _login(http: httpx.Client) -> str | None:
    answer = http.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]})
    return str(answer.json()["access_token"]) if answer.status_code == 200 else None


def test_given_callers_when_they_start_rebuilds_then_only_admins_may_and_unknown_names_are_404(
    client: Any, container: Chronicle, store: str
) -> None:
    from tests.e2e.helpers import bearer, login
    from tests.e2e.workshop import staff

    admin = bearer(login(client, SUPERADMIN[0], SUPERADMIN[1]))
    auditor = staff(client, container, "auditor")

    assert client.post("/api/v1/projections/accounts/rebuild").status_code == 401
    refused = client.post("/api/v1/projections/accounts/rebuild", headers=auditor.headers)
    assert refused.status_code == 403, refused.text
    assert client.post("/api/v1/projections/mail/rebuild", headers=admin).json()["code"] == "unknown_projection"
    assert client.post("/api/v1/projections/No-Such/rebuild", headers=admin).status_code == 422

    accepted = client.post("/api/v1/projections/accounts/rebuild", headers=admin)
    assert accepted.status_code == 202, accepted.text
    container.rebuilds.wait()
    states = client.get("/api/v1/projections", headers=auditor.headers).json()
    accounts = next(item for item in states if item["name"] == "accounts")
    assert accounts["rebuild"]["job_id"] == accepted.json()["job_id"]
    assert accounts["rebuild"]["state"] == "swapped"
    assert {row["table"] for row in accounts["rebuild"]["report"]["tables"]} >= {"rm_accounts", "rm_sessions"}
    if store == "postgres":  # the process holding the projection's advisory lock: this one
        assert accounts["active_worker"]["pid"] == os.getpid()
    else:
        assert accounts["active_worker"] is None
