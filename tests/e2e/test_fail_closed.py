"""Authorization fails closed (issue 9, defect 1c): no decision on an accounts read model that lags.

While the accounts projection does not move (blocked here; a failed one is the same to the rule), a
logout or a suspension it has not applied would go unnoticed: once it has not reached the log head
seen ``ACCESS_STATE_MAX_LAG_SECONDS`` ago, authenticated requests answer 503, and once it has caught
up the revocations apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN
from tests.e2e.helpers import bearer, login, verified_account
from tests.e2e.projection_hold import hold_back
from tests.e2e.workshop import order_body, staff

QUICK = {"access_state_max_lag_seconds": 0.5, "log_head_sample_seconds": 0.05}


def answer_once_not(status: int, call: Callable[[], Any], timeout: float = 5.0) -> Any:
    """The first answer whose status is not ``status`` (polled); the last answer if none within ``timeout``."""
    deadline = time.monotonic() + timeout
    response = call()
    while response.status_code == status and time.monotonic() < deadline:
        time.sleep(0.05)
        response = call()
    return response


@pytest.mark.parametrize("settings", [QUICK], indirect=True)
def test_revocations_the_stalled_accounts_projection_missed_answer_503_then_apply_once_it_moves(
    client: TestClient, container: Chronicle
) -> None:
    admin = bearer(login(client, *SUPERADMIN))
    verified_account(client, container.settings.mail_folder, "leaving@example.com")
    user = bearer(login(client, "leaving@example.com"))
    second_admin = staff(client, container, "admin")
    assert container.board.wait("accounts", container.head_position(), timeout=5.0)

    with hold_back(container, "accounts") as hold:
        assert client.post("/api/v1/auth/logout", headers=user).status_code == 200
        suspend = client.post(f"/api/v1/accounts/{second_admin.id}/suspend", json={"reason": "x"}, headers=admin)
        assert suspend.status_code == 200, suspend.text

        me = answer_once_not(200, lambda: client.get("/api/v1/auth/me", headers=user))
        create = client.post("/api/v1/work-orders", json=order_body("WO-STALE"), headers=second_admin.headers)
        hold.release()

    assert me.status_code == 503, me.text
    assert me.json()["code"] == "access_state_stale"
    assert me.headers["Retry-After"]
    assert create.status_code == 503, create.text
    assert create.json()["code"] == "access_state_stale"
    me = answer_once_not(503, lambda: client.get("/api/v1/auth/me", headers=user))
    create = answer_once_not(
        503, lambda: client.post("/api/v1/work-orders", json=order_body("WO-STALE"), headers=second_admin.headers)
    )
    assert me.status_code == 401 and me.json()["code"] == "session_revoked"
    assert create.status_code == 403 and create.json()["code"] == "account_suspended"


@pytest.mark.parametrize("settings", [QUICK], indirect=True)
@pytest.mark.parametrize("store", ["embedded"])
def test_an_idle_log_keeps_authorization_open_however_long(client: TestClient, container: Chronicle) -> None:
    admin = bearer(login(client, *SUPERADMIN))
    assert container.board.wait("accounts", container.head_position(), timeout=5.0)
    deadline = time.monotonic() + 1.0  # twice the lag, with nothing written

    answers = set()
    while time.monotonic() < deadline:
        answers.add(client.get("/api/v1/auth/me", headers=admin).status_code)
        time.sleep(0.05)

    assert answers == {200}
