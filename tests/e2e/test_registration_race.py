"""Email uniqueness under racing registrations, through the HTTP API (on both stores)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.e2e.helpers import PASSWORD

RACERS = 20


def test_of_twenty_concurrent_registrations_of_one_address_exactly_one_wins(
    client: TestClient, container: Chronicle
) -> None:
    spellings = [
        "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate("racer@example.com")) for i in range(RACERS)
    ]
    start = threading.Barrier(RACERS)

    def register(email: str) -> int:
        start.wait()
        body = {"email": email, "password": PASSWORD, "first_name": "R", "last_name": "Acer"}
        return client.post("/api/v1/auth/register", json=body).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(register, spellings))

    assert len(set(spellings)) == RACERS
    assert statuses == [201] + [409] * (RACERS - 1)
    assert container.board.wait("accounts", container.head_position(), timeout=10.0)  # the container's runner
    listed = container.account_queries.search(limit=50, offset=0, sort="email", q="racer@")
    assert listed.total == 1
