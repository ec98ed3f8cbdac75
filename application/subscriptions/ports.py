"""What the Subscriptions application needs from the outside: a payment gateway, and its dunning ladder."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from domain.subscriptions.subscription import DunningLadder

__all__ = ["Charge", "DunningLadder", "PaymentGateway"]


@dataclass(frozen=True)
class Charge:
    """A gateway's answer: ``succeeded``, ``declined``, ``insufficient_funds`` or ``pending`` (settled by a webhook)."""

    status: str
    reference: str


class PaymentGateway(Protocol):
    """Charges a payment method. ``attempt_id`` is the idempotency key: asked again with the same id,
    the gateway answers what it answered first and charges nothing more (as real providers do)."""

    def charge(
        self, attempt_id: UUID, account_id: UUID, amount: Decimal, currency: str, payment_method: str
    ) -> Charge: ...
