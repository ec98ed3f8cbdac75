"""The offline gateway: the outcome by token, and one charge per attempt id (in memory and in SQLite)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest

from infrastructure.shared.readstore import create_read_engine, metadata
from infrastructure.subscriptions.gateway import MemoryGateway, SqlOfflineGateway

TOKENS = {
    "pm_ok": "succeeded",
    "pm_slow": "succeeded",
    "pm_declined": "declined",
    "pm_insufficient_funds": "insufficient_funds",
    "pm_pending": "pending",
    "pm_unknown": "declined",
}


@pytest.fixture(params=["memory", "sqlite"])
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryGateway | SqlOfflineGateway:
    if request.param == "memory":
        return MemoryGateway()
    engine = create_read_engine(f"sqlite+pysqlite:///{tmp_path / 'read.sqlite3'}")
    metadata.create_all(engine)
    return SqlOfflineGateway(engine, slow_seconds=0.01)


@pytest.mark.parametrize(("token", "status"), sorted(TOKENS.items()))
def test_the_token_picks_the_outcome(gateway: MemoryGateway | SqlOfflineGateway, token: str, status: str) -> None:
    assert gateway.charge(uuid4(), uuid4(), Decimal("9.99"), "USD", token).status == status


def test_an_attempt_asked_again_is_answered_as_first_and_charged_once(
    gateway: MemoryGateway | SqlOfflineGateway,
) -> None:
    attempt, account = uuid4(), uuid4()
    first = gateway.charge(attempt, account, Decimal("20.00"), "USD", "pm_ok")
    again = gateway.charge(attempt, account, Decimal("20.00"), "USD", "pm_declined")

    assert first == again and first.status == "succeeded" and first.reference.startswith("off_")
    [charge] = gateway.charges(account)
    assert (charge.attempt_id, charge.requests, charge.status) == (attempt, 2, "succeeded")


def test_a_pending_charge_is_settled_once(gateway: MemoryGateway | SqlOfflineGateway) -> None:
    attempt, account = uuid4(), uuid4()
    gateway.charge(attempt, account, Decimal("5.00"), "USD", "pm_pending")

    gateway.settle(attempt, "succeeded")
    gateway.settle(attempt, "declined")

    assert gateway.charge(attempt, account, Decimal("5.00"), "USD", "pm_pending").status == "succeeded"
