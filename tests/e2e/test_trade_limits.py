"""The plan's trades_per_day through HTTP: 50 concurrent opens of one account against a limit of 10 open exactly
10, the rest a named 409 problem (on PostgreSQL, and on the embedded store)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import eventually
from tests.e2e.trades_helpers import TRADES, read, trade_body
from tests.e2e.workshop import staff

RACERS = 50
LIMIT = 10

pytestmark = pytest.mark.parametrize("settings", [{"free_plan_trades_per_day": LIMIT}], indirect=True)


def test_fifty_concurrent_opens_over_http_against_a_limit_of_ten_open_exactly_ten(
    client: TestClient, container: Chronicle
) -> None:
    trader = staff(client, container, "user")
    # The access read model knows the new session before the race (else every racer waits for it).
    eventually(lambda: client.get(TRADES, headers=trader.headers).status_code == 200)
    start = threading.Barrier(RACERS)

    def attempt(_: int) -> tuple[int, Any]:
        start.wait(timeout=60)
        answer = client.post(TRADES, json=trade_body(quantity="0.5"), headers=trader.headers)
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(attempt, range(RACERS)))

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: LIMIT, 409: RACERS - LIMIT}, [body for status, body in answers if status >= 500]
    refusals = {body["code"] for status, body in answers if status == 409}
    assert refusals == {"trades_per_day_reached"}
    position = max(body["position"] for status, body in answers if status == 201)
    listed = read(client, trader, "", position, limit=100)
    assert listed["total"] == LIMIT
    assert sorted(t["id"] for t in listed["items"]) == sorted(body["id"] for status, body in answers if status == 201)
