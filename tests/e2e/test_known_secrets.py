"""An embedded server signs with a secret of its own, never with one published in the repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from infrastructure.shared.settings import DEV_JWT_SECRET
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN, Clock, make_settings
from tests.e2e.helpers import bearer, login


@pytest.fixture
def embedded_client(tmp_path: Path) -> Iterator[TestClient]:
    """An embedded server started as ``make run`` starts it: no JWT_SECRET."""
    chronicle = Chronicle(make_settings(tmp_path, None, None, jwt_secret=None), clock=Clock())
    chronicle.start()
    try:
        with TestClient(create_app(root=chronicle), raise_server_exceptions=False) as client:
            yield client
    finally:
        chronicle.close()


def test_a_token_signed_with_the_old_development_secret_is_refused_by_an_embedded_server(
    embedded_client: TestClient,
) -> None:
    issued = login(embedded_client, *SUPERADMIN)
    claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
    forged = {"access_token": jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256")}  # same claims, old secret

    genuine = embedded_client.get("/api/v1/auth/me", headers=bearer(issued))
    refused = embedded_client.get("/api/v1/auth/me", headers=bearer(forged))

    assert genuine.status_code == 200, genuine.text
    assert refused.status_code == 401, refused.text
