"""What the request path's cuts keep: an authenticated command reads its caller's access state once and
answers as before, and a token the route's own dependency has to resolve (no rate limiter before it) still is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from application.shared.ports import AccessStates
from domain.shared.access import AccessPolicy
from infrastructure.root import Chronicle
from infrastructure.shared.logwatch import LogWatch
from infrastructure.shared.runner import Freshness
from infrastructure.shared.tokens import JwtTokens
from interfaces.http.shared.auth import Authorities, optional_principal
from tests.conftest import eventually, policies_settled
from tests.e2e.workshop import Workshop, order_body


@pytest.fixture
def shop(client: TestClient, container: Chronicle) -> Workshop:
    return Workshop(client, container)


def counted_reads(container: Chronicle, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    # A quiet log first: while the accounts projection is behind the head (the free-plan policy writes after
    # each registration), authorization waits for it and reads the caller's state again, as it must.
    policies_settled(container)
    eventually(lambda: container.stored_position("accounts") == container.head_position())
    access = container.services[AccessStates]
    reads: list[Any] = []
    original = access.access_state

    def reading(account_id: Any, session_id: Any) -> Any:
        reads.append((account_id, session_id))
        return original(account_id, session_id)

    monkeypatch.setattr(access, "access_state", reading)
    return reads


def test_an_authenticated_command_reads_its_callers_access_state_once(
    shop: Workshop, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = counted_reads(shop.container, monkeypatch)

    created = shop.client.post("/api/v1/work-orders", json=order_body("WO-R1"), headers=shop.manager.headers)

    assert created.status_code == 201, created.text
    assert set(created.json()) == {"id", "version", "position"}
    assert len(reads) == 1


def test_a_refused_token_and_a_missing_permission_answer_as_before(shop: Workshop) -> None:
    client = shop.client
    forged = client.post("/api/v1/work-orders", json=order_body("WO-R2"), headers={"Authorization": "Bearer x.y.z"})
    viewer = client.post("/api/v1/work-orders", json=order_body("WO-R3"), headers=shop.viewer.headers)
    anonymous = client.post("/api/v1/work-orders", json=order_body("WO-R4"))

    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_token")
    assert (viewer.status_code, viewer.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


def test_the_route_dependency_resolves_a_token_nobody_resolved_before_and_reuses_it(
    shop: Workshop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every /api/ route's rate limiter resolves the caller first; a route without it (outside /api/) has its own
    dependency resolve the token (on a worker thread), and a second ask in the same request reuses that."""
    container = shop.container
    reads = counted_reads(container, monkeypatch)
    services = container.services
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "state": {}})
    token = shop.manager.headers["Authorization"].removeprefix("Bearer ")
    auth = Authorities(
        services[JwtTokens], services[AccessStates], services[AccessPolicy], services[LogWatch], services[Freshness]
    )

    first = asyncio.run(optional_principal(request, auth, token))
    again = asyncio.run(optional_principal(request, auth, token))

    assert first is not None and str(first.account_id) == shop.manager.id
    assert again is first and len(reads) == 1
    assert "manager" in first.roles
    assert asyncio.run(optional_principal(request, auth, None)) is None
