"""PostgreSQL outages, through a fault-injecting proxy between Chronicle and the (never restarted) server.

During a cut every request answers 503 ``store_unavailable`` with Retry-After within a bounded time,
never 500, and /ready answers within a second; after the cut, or after the pooled connections were
reset, commands, queries and projections work again without restarting Chronicle.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from psycopg.conninfo import conninfo_to_dict

from infrastructure.root import Chronicle
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN, Clock, eventually, make_settings, wipe_postgres
from tests.faults.proxy import FaultProxy

PASSWORD = "s3cretpass1"


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[FaultProxy]:
    params = conninfo_to_dict(postgres_url)
    proxy = FaultProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)).start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def chronicle(tmp_path: Path, postgres_url: str, redis_url: str, proxy: FaultProxy) -> Iterator[Chronicle]:
    """Chronicle on PostgreSQL through the proxy, projections in process, as one API process runs them."""
    wipe_postgres(postgres_url)
    params = conninfo_to_dict(postgres_url)
    through_proxy = f"postgresql://{params.get('user') or 'postgres'}@{proxy.url_host_port}/{params['dbname']}"
    settings = make_settings(
        tmp_path,
        through_proxy,
        redis_url,
        auto_verify_email=True,
        projection_retry_seconds=0.05,
        projection_retry_max_seconds=0.5,
    )
    container = Chronicle(settings, clock=Clock())
    container.start()
    try:
        yield container
    finally:
        proxy.restore()
        container.close()


@pytest.fixture
def client(chronicle: Chronicle) -> Iterator[TestClient]:
    with TestClient(create_app(root=chronicle), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, chronicle: Chronicle) -> dict[str, str]:
    assert chronicle.board.wait("accounts", chronicle.head_position(), timeout=10)
    login = client.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def new_item() -> dict[str, str]:
    return {"sku": f"ROD-{uuid.uuid4().hex[:10].upper()}", "name": "Welding rod", "unit": "kg"}


def new_account() -> dict[str, str]:
    return {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B"}


def timed(call: Callable[[], Response]) -> tuple[Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def every_kind_of_request(client: TestClient, admin: dict[str, str]) -> dict[str, Callable[[], Response]]:
    """An authenticated command and query, and the anonymous commands that reach the event store."""
    return {
        "create item": lambda: client.post("/api/v1/inventory", json=new_item(), headers=admin),
        "list items": lambda: client.get("/api/v1/inventory", headers=admin),
        "register": lambda: client.post("/api/v1/auth/register", json=new_account()),
        "login": lambda: client.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]}),
        "projections": lambda: client.get("/api/v1/projections", headers=admin),
    }


def test_during_a_cut_requests_answer_503_store_unavailable_with_retry_after_within_seconds_and_ready_within_one(
    client: TestClient, admin: dict[str, str], proxy: FaultProxy
) -> None:
    requests = every_kind_of_request(client, admin)
    proxy.cut()

    for what, send in requests.items():
        response, elapsed = timed(send)
        assert response.status_code == 503, (what, response.status_code, response.text)
        assert response.json()["code"] == "store_unavailable", what
        assert int(response.headers["Retry-After"]) >= 1, what
        assert "psycopg" not in response.text and "SELECT" not in response.text, what
        assert elapsed < 5, (what, elapsed)

    ready, elapsed = timed(lambda: client.get("/ready"))
    assert elapsed < 1.0
    assert ready.status_code == 503
    assert ready.json()["checks"]["event_store"]["ok"] is False
    assert ready.json()["checks"]["read_store"]["ok"] is False


def test_when_the_server_stops_answering_ready_still_answers_within_one_second(
    client: TestClient, admin: dict[str, str], proxy: FaultProxy
) -> None:
    assert client.get("/ready").status_code == 200
    proxy.delay(3.0)  # connections stay open, answers come too late

    ready, elapsed = timed(lambda: client.get("/ready"))

    assert elapsed < 1.0
    assert ready.status_code == 503
    assert ready.json()["checks"]["event_store"] == {"ok": False, "error": "timeout"}
    proxy.delay(0)


def test_after_a_reset_kills_the_pooled_connections_the_first_requests_succeed(
    client: TestClient, admin: dict[str, str], proxy: FaultProxy, chronicle: Chronicle
) -> None:
    # Given pools that hold connections (the event store's opens its whole minimum at once)
    for send in every_kind_of_request(client, admin).values():
        assert send().status_code < 300
    assert proxy.open_connections > 2

    # When every one of them dies, as a server restart leaves them
    proxy.reset()

    # Then the very first requests succeed, on fresh connections
    for what, send in every_kind_of_request(client, admin).items():
        response = send()
        assert response.status_code < 300, (what, response.status_code, response.text)
    assert client.get("/ready").status_code == 200
    assert eventually(lambda: chronicle.stored_position("inventory") == chronicle.head_position(), timeout=20.0)


def test_a_five_second_cut_under_load_answers_only_2xx_or_503_loses_no_acknowledged_write_and_recovers_by_itself(
    client: TestClient, admin: dict[str, str], proxy: FaultProxy, chronicle: Chronicle
) -> None:
    statuses: list[int] = []
    acknowledged: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(worker: int) -> None:
        while not stop.is_set():
            created = client.post("/api/v1/inventory", json=new_item(), headers=admin)
            listed = client.get("/api/v1/inventory?limit=5", headers=admin)
            with lock:
                statuses.extend([created.status_code, listed.status_code])
                if created.status_code == 201:
                    acknowledged.append(created.json()["id"])

    workers = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    try:
        eventually(lambda: len(acknowledged) >= 8, timeout=20.0)
        with proxy.outage(5.0):
            during = len(statuses)
            time.sleep(0.5)
        cut_statuses = statuses[during:]
        acknowledged_before_recovery = len(acknowledged)
        # After the cut the same process serves commands again, by itself
        eventually(lambda: len(acknowledged) >= acknowledged_before_recovery + 8, timeout=20.0)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)

    assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))
    assert 503 in cut_statuses
    # Every acknowledged write is in the log, and the projection folds them all without a restart
    stored = chronicle.inventory.existing([uuid.UUID(item) for item in acknowledged])
    assert stored == {uuid.UUID(item) for item in acknowledged}
    assert eventually(lambda: chronicle.stored_position("inventory") == chronicle.head_position(), timeout=20.0)
    listed = client.get("/api/v1/inventory?limit=1", headers=admin)
    assert listed.json()["total"] >= len(acknowledged)  # a write answered 503 may have committed all the same
    assert client.get("/ready").status_code == 200
