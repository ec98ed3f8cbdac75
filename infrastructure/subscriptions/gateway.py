"""The offline payment gateway: outcomes chosen by the payment method's token, idempotent per attempt id.

Tokens: ``pm_ok`` succeeds, ``pm_declined`` and ``pm_insufficient_funds`` fail so, ``pm_pending`` waits
to be settled by a webhook, ``pm_slow`` succeeds after ``slow_seconds`` (the charge is recorded first:
a process killed meanwhile has charged, and its rerun must not charge again). Any other token is
declined.

Like a real provider's idempotency key, an attempt id is charged once: asked again, the gateway
answers what it answered first. ``SqlOfflineGateway`` keeps its charges in a table of the read-store
database, so every process (API, workers) sees the others'; ``MemoryGateway`` is for unit tests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Final
from uuid import UUID

from sqlalchemy import Column, Engine, Integer, Numeric, String, Table, select, update
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from application.subscriptions.ports import Charge
from infrastructure.shared.platform import utc_now
from infrastructure.shared.readstore import UtcDateTime, metadata

OUTCOMES: Final = {
    "pm_ok": "succeeded",
    "pm_slow": "succeeded",
    "pm_declined": "declined",
    "pm_insufficient_funds": "insufficient_funds",
    "pm_pending": "pending",
}

gateway_charges = Table(
    "gateway_offline_charges",
    metadata,
    Column("attempt_id", SqlUuid, primary_key=True),
    Column("account_id", SqlUuid, nullable=False),
    Column("amount", Numeric(20, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_method", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("requests", Integer, nullable=False),  # how often the attempt was asked for (charged once)
    Column("charged_at", UtcDateTime, nullable=False),
)


def outcome_of(payment_method: str) -> str:
    return OUTCOMES.get(payment_method, "declined")


def reference_of(attempt_id: UUID) -> str:
    return f"off_{attempt_id.hex}"


@dataclass(frozen=True)
class RecordedCharge:
    """One attempt as the gateway keeps it."""

    attempt_id: UUID
    account_id: UUID
    amount: Decimal
    currency: str
    status: str
    requests: int


class SqlOfflineGateway:
    """The offline gateway over the read-store database (``PAYMENT_GATEWAY=offline``)."""

    def __init__(self, engine: Engine, *, slow_seconds: float = 5.0) -> None:
        self.engine = engine
        self.slow_seconds = slow_seconds

    def charge(self, attempt_id: UUID, account_id: UUID, amount: Decimal, currency: str, payment_method: str) -> Charge:
        row = {
            "attempt_id": attempt_id,
            "account_id": account_id,
            "amount": amount,
            "currency": currency,
            "payment_method": payment_method[:200],
            "status": outcome_of(payment_method),
            "reference": reference_of(attempt_id),
            "requests": 1,
            "charged_at": utc_now(),
        }
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            statement = insert(gateway_charges).values(row).on_conflict_do_nothing()
            created = conn.execute(statement.returning(gateway_charges.c.attempt_id)).first() is not None
            if not created:
                conn.execute(
                    update(gateway_charges)
                    .where(gateway_charges.c.attempt_id == attempt_id)
                    .values(requests=gateway_charges.c.requests + 1)
                )
            status = conn.execute(
                select(gateway_charges.c.status).where(gateway_charges.c.attempt_id == attempt_id)
            ).scalar_one()
        if created and payment_method == "pm_slow":
            time.sleep(self.slow_seconds)
        return Charge(status=status, reference=reference_of(attempt_id))

    def settle(self, attempt_id: UUID, status: str) -> None:
        """The provider settles a pending charge (what its webhook then reports)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(gateway_charges)
                .where(gateway_charges.c.attempt_id == attempt_id, gateway_charges.c.status == "pending")
                .values(status=status)
            )

    def charges(self, account_id: UUID | None = None) -> list[RecordedCharge]:
        """Every attempt charged (of one account), oldest first: one row per attempt id."""
        query = select(gateway_charges).order_by(gateway_charges.c.charged_at, gateway_charges.c.attempt_id)
        if account_id is not None:
            query = query.where(gateway_charges.c.account_id == account_id)
        with self.engine.connect() as conn:
            return [
                RecordedCharge(r.attempt_id, r.account_id, Decimal(r.amount), r.currency, r.status, r.requests)
                for r in conn.execute(query)
            ]


class MemoryGateway:
    """The offline gateway in memory (unit tests): the same outcomes and idempotency, one process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charges: dict[UUID, RecordedCharge] = {}

    def charge(self, attempt_id: UUID, account_id: UUID, amount: Decimal, currency: str, payment_method: str) -> Charge:
        with self._lock:
            known = self._charges.get(attempt_id)
            if known is None:
                known = RecordedCharge(attempt_id, account_id, amount, currency, outcome_of(payment_method), 0)
            known = RecordedCharge(
                known.attempt_id, known.account_id, known.amount, known.currency, known.status, known.requests + 1
            )
            self._charges[attempt_id] = known
        return Charge(status=known.status, reference=reference_of(attempt_id))

    def settle(self, attempt_id: UUID, status: str) -> None:
        with self._lock:
            known = self._charges[attempt_id]
            if known.status == "pending":
                self._charges[attempt_id] = RecordedCharge(
                    known.attempt_id, known.account_id, known.amount, known.currency, status, known.requests
                )

    def charges(self, account_id: UUID | None = None) -> list[RecordedCharge]:
        with self._lock:
            return [c for c in self._charges.values() if account_id is None or c.account_id == account_id]
