"""Security headers on every answer, HSTS only over HTTPS, no-store on token answers, docs that still
load under their CSP, and CORS for the configured origins only."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN
from tests.e2e.helpers import login

EMBEDDED = pytest.mark.parametrize("store", ["embedded"])  # the headers do not depend on the store
ALLOWED = "https://app.example.com"


def assert_secured(response: Any) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "server" not in headers


@EMBEDDED
def test_every_answer_carries_the_security_headers_and_no_hsts_over_http(client: TestClient) -> None:
    answers = [
        client.get("/health"),
        client.get("/api/v1/accounts"),  # 401
        client.get("/api/v1/nowhere"),  # 404
        client.post("/api/v1/auth/login", json={}),  # 422
    ]

    for response in answers:
        assert_secured(response)
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers
        assert response.headers["cache-control"] == "no-store"


@EMBEDDED
def test_answers_over_https_carry_hsts(container: Chronicle) -> None:
    with TestClient(create_app(root=container), base_url="https://testserver") as client:
        response = client.get("/health")

    assert response.headers["strict-transport-security"].startswith("max-age=")


@EMBEDDED
@pytest.mark.parametrize("settings", [{"forwarded_allow_ips": "*"}], indirect=True)
def test_a_trusted_proxy_saying_https_gets_hsts(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Forwarded-Proto": "https"})

    assert "strict-transport-security" in response.headers


@EMBEDDED
def test_an_untrusted_client_saying_https_gets_no_hsts(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Forwarded-Proto": "https"})

    assert "strict-transport-security" not in response.headers


@EMBEDDED
def test_token_answers_are_not_stored(client: TestClient) -> None:
    tokens = login(client, *SUPERADMIN)
    answers = [
        client.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]}),
        client.post("/api/v1/auth/token", data={"username": SUPERADMIN[0], "password": SUPERADMIN[1]}),
        client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
    ]

    for response in answers:
        assert response.status_code == 200, response.text
        assert "access_token" in response.json()
        assert response.headers["cache-control"] == "no-store"


@EMBEDDED
@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_pages_load_their_assets_and_inline_scripts_under_their_policy(client: TestClient, page: str) -> None:
    response = client.get(page)

    assert response.status_code == 200
    assert_secured(response)
    policy = response.headers["content-security-policy"]
    html = response.text
    for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'spec-url="([^"]+)"', html)
    for url in assets + (["/openapi.json"] if page == "/docs" else []):
        assert url.startswith("/"), f"{url} is not served by this origin ('self')"
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        assert "no-store" not in fetched.headers.get("cache-control", "") or url == "/openapi.json"


@pytest.fixture
def cors(container: Chronicle) -> Iterator[TestClient]:
    container.settings.cors_origins = [ALLOWED]
    with TestClient(create_app(root=container)) as client:
        yield client


def preflight(client: TestClient, origin: str) -> Any:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,if-match",
    }
    return client.options("/api/v1/work-orders", headers=headers)


@EMBEDDED
def test_a_preflight_from_an_allowed_origin_is_answered(cors: TestClient) -> None:
    response = preflight(cors, ALLOWED)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "if-match" in response.headers["access-control-allow-headers"].lower()
    simple = cors.get("/health", headers={"Origin": ALLOWED})
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


@EMBEDDED
def test_a_preflight_from_another_origin_is_refused_with_a_problem(cors: TestClient) -> None:
    response = preflight(cors, "https://evil.example.com")

    assert response.status_code == 403
    assert response.json()["code"] == "cors_refused"
    assert "access-control-allow-origin" not in response.headers
    assert (
        "access-control-allow-origin" not in cors.get("/health", headers={"Origin": "https://evil.example.com"}).headers
    )


@EMBEDDED
def test_no_origin_is_allowed_by_default(client: TestClient) -> None:
    assert preflight(client, ALLOWED).status_code == 403


def test_the_server_names_no_software(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from interfaces.cli import app

    configs: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: configs.append(self.config))

    result = CliRunner().invoke(app, ["serve", "--port", "1"])

    assert result.exit_code == 0, result.output
    assert configs[0].server_header is False
