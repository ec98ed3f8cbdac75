"""Schemathesis over the whole OpenAPI, on PostgreSQL: as the superadmin and anonymously, every
generated request is answered without a server error and in the shape the schema documents.

Bounded: a few examples per operation (``FUZZ_EXAMPLES``, default 8), derandomized so a run is
repeatable; the routes that would close, suspend, demote or log out the admin are left out.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from infrastructure.root import Chronicle
from interfaces.http.app import create_app
from tests.conftest import SUPERADMIN, TEST_DATABASE_URL, TEST_REDIS_URL, make_settings, wipe_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))


@schemathesis.check
def no_server_error_but_a_bounded_wait(ctx: Any, response: Any, case: Any) -> bool | None:
    """An authorized query whose min_position (at most the head) the projection did not reach within the
    fuzzing's short wait answers the documented 503 ``projection_behind``: the contract, not a server
    error. Anything else at 5xx is one. Anonymous callers never get that far (401 comes first)."""
    if response.status_code == 503 and "retry-after" in {name.lower() for name in response.headers}:
        try:
            code = json.loads(response.content).get("code")
        except ValueError:
            code = None
        if code == "projection_behind":
            return True
    return not_a_server_error(ctx, response, case)


# What would lock the fuzzing admin out of the rest of the run.
SELF_HARM = r"/(logout|me/close|change-password|suspend|close|reset-password)$|/roles"
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# The app is built at import (schemathesis reads its schema then); nothing connects until the fixture starts it.
# A short read-your-writes wait: generated min_positions lie far past the head, and each would wait it out.
CHRONICLE = Chronicle(
    make_settings(
        Path(tempfile.mkdtemp(prefix="fuzz-")),
        TEST_DATABASE_URL,
        TEST_REDIS_URL,
        read_your_writes_timeout_seconds=0.05,
    ),
)
APP = create_app(root=CHRONICLE)
# The schema as the app documents it; calls go to the app in process (``from_asgi`` would run its lifespan now).
_loaded = schemathesis.openapi.from_dict(APP.openapi())
_loaded.app = APP
schema = _loaded.exclude(path_regex=SELF_HARM)


@pytest.fixture(scope="module", autouse=True)
def running(postgres_url: str, redis_url: str) -> Iterator[None]:
    wipe_postgres(postgres_url)
    CHRONICLE.start()
    try:
        with TestClient(APP):  # the lifespan hands the started services to the app
            yield
    finally:
        CHRONICLE.close()


@pytest.fixture(scope="module")
def admin_headers(running: None) -> dict[str, str]:
    with TestClient(APP) as client:
        answer = client.post("/api/v1/auth/login", json={"email": SUPERADMIN[0], "password": SUPERADMIN[1]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@schema.parametrize()
@BOUNDED
def test_the_admin_meets_no_server_error_and_only_documented_answers(case: Any, admin_headers: dict[str, str]) -> None:
    checks = [no_server_error_but_a_bounded_wait, response_schema_conformance]
    case.call_and_validate(headers=admin_headers, checks=checks)


@schema.parametrize()
@BOUNDED
def test_an_anonymous_caller_meets_no_server_error_and_only_documented_answers(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
