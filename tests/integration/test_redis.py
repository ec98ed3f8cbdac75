"""Readiness reports Redis: ready when it answers, 503 when the configured server is not there."""

from __future__ import annotations

from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.integration.conftest import ContainerFactory

UNREACHABLE_REDIS = "redis://127.0.0.1:6390/0"


def test_given_a_reachable_redis_when_asking_ready_then_it_answers_200_with_redis_ok(
    make_container: ContainerFactory,
) -> None:
    container = make_container()
    assert container.settings.redis_url
    container.start(run_projections=False)

    with TestClient(create_app(root=container)) as client:
        response = client.get("/ready")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["event_store"]["ok"] is True
    assert body["checks"]["read_store"]["ok"] is True


def test_given_a_redis_url_nobody_listens_on_when_asking_ready_then_it_answers_503_with_redis_not_ok(
    make_container: ContainerFactory,
) -> None:
    container = make_container(redis_url=UNREACHABLE_REDIS)
    container.start(run_projections=False)

    with TestClient(create_app(root=container), raise_server_exceptions=False) as client:
        response = client.get("/ready")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["event_store"]["ok"] is True
    assert body["checks"]["read_store"]["ok"] is True
