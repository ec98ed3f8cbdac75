"""min_position waits only for callers the route admits, only for positions the log has, and only so many at once.

Issue 9, defect 4: an anonymous ``GET /api/v1/work-orders?min_position=1000000000000`` used to wait
the whole read-your-writes timeout and answer 503 (revealing the head); 60 such callers slowed
every other request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from infrastructure.shared.runner import Freshness
from tests.e2e.projection_hold import hold_back
from tests.e2e.workshop import order_body, staff

TIMEOUT = {"read_your_writes_timeout_seconds": 20.0}
FAST = 3.0  # seconds: "at once", well under the 20 s a wait may last here (a loaded machine needs the slack)


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("settings", [TIMEOUT], indirect=True)
def test_anonymous_and_unauthorized_callers_are_refused_before_anything_waits(
    client: TestClient, container: Chronicle
) -> None:
    manager = staff(client, container, "manager")
    stranger = staff(client, container, "user")  # authenticated, without work_orders:read
    with hold_back(container, "work_orders"):
        written = client.post("/api/v1/work-orders", json=order_body("WO-HELD"), headers=manager.headers).json()
        pending = {"min_position": written["position"]}  # in the log, not yet in the read model

        far, far_took = timed(lambda: client.get("/api/v1/work-orders", params={"min_position": 10**12}))
        anonymous, anonymous_took = timed(lambda: client.get("/api/v1/work-orders", params=pending))
        unauthorized, unauthorized_took = timed(
            lambda: client.get("/api/v1/work-orders", params=pending, headers=stranger.headers)
        )

    assert (far.status_code, far.json()["code"]) == (401, "not_authenticated")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert (unauthorized.status_code, unauthorized.json()["code"]) == (403, "forbidden")
    assert max(far_took, anonymous_took, unauthorized_took) < FAST


@pytest.mark.parametrize("settings", [TIMEOUT], indirect=True)
def test_an_authorized_position_beyond_the_log_is_refused_at_once_without_revealing_the_head(
    client: TestClient, container: Chronicle
) -> None:
    manager = staff(client, container, "manager")

    response, took = timed(
        lambda: client.get("/api/v1/work-orders", params={"min_position": 10**12}, headers=manager.headers)
    )

    assert response.status_code == 422
    assert response.json()["code"] == "min_position_beyond_head"
    assert str(container.head_position()) not in response.json()["detail"]
    assert took < FAST


@pytest.mark.parametrize("settings", [{**TIMEOUT, "read_your_writes_max_waiting": 2}], indirect=True)
def test_a_third_waiter_beyond_a_bound_of_two_answers_503_at_once(client: TestClient, container: Chronicle) -> None:
    manager = staff(client, container, "manager")
    freshness: Freshness = container.services[Freshness]
    answers: list[Any] = []
    with hold_back(container, "work_orders") as hold:
        written = client.post("/api/v1/work-orders", json=order_body("WO-WAIT"), headers=manager.headers).json()
        pending = {"min_position": written["position"]}

        def read() -> None:
            answers.append(client.get("/api/v1/work-orders", params=pending, headers=manager.headers))

        waiters = [threading.Thread(target=read) for _ in range(2)]
        for waiter in waiters:
            waiter.start()
        deadline = time.monotonic() + 5
        while freshness.waiting < 2:
            assert time.monotonic() < deadline, "the two readers never waited"
            time.sleep(0.01)
        third, took = timed(lambda: client.get("/api/v1/work-orders", params=pending, headers=manager.headers))
        hold.release()
    for waiter in waiters:
        waiter.join(timeout=10)

    assert third.status_code == 503
    assert third.json()["code"] == "too_many_waiting"
    assert third.headers["Retry-After"] == "1"
    assert took < FAST
    assert [a.status_code for a in answers] == [200, 200]
