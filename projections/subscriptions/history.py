"""The subscription history read model: every event of every subscription, who wrote it and when.

Payment method tokens are not repeated in the history (it says only that one was given).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.subscriptions.subscription import Subscription

_NOT_DETAILS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "account_id"})
PAYMENT_METHOD = "payment_method"


class HistoryView(Protocol):
    """What the history projection needs from its store (implemented in infrastructure)."""

    def add_entry(
        self,
        subscription_id: UUID,
        version: int,
        account_id: UUID | None,
        at: datetime,
        actor: str | None,
        event: str,
        details: dict[str, Any],
    ) -> None:
        """An entry; ``account_id`` None: the account of the subscription's earlier entries."""
        ...


class SubscriptionHistoryProjection(EventHandlers[HistoryView]):
    """Folds every Subscription event into one history entry."""

    name = "subscription_history"

    @handles(Subscription.Started)
    @handles(Subscription.InvoiceIssued)
    @handles(Subscription.PaymentPending)
    @handles(Subscription.PaymentSucceeded)
    @handles(Subscription.PaymentFailed)
    @handles(Subscription.Activated)
    @handles(Subscription.Renewed)
    @handles(Subscription.BecamePastDue)
    @handles(Subscription.BecameUnpaid)
    @handles(Subscription.Canceled)
    @handles(Subscription.Expired)
    @handles(Subscription.CancelScheduled)
    @handles(Subscription.CancelRevoked)
    @handles(Subscription.Paused)
    @handles(Subscription.Resumed)
    @handles(Subscription.PlanChanged)
    @handles(Subscription.DowngradeScheduled)
    @handles(Subscription.DowngradeCanceled)
    @handles(Subscription.PaymentMethodUpdated)
    def entry(self, e: Subscription.Event, view: HistoryView, meta: dict[str, Any]) -> None:
        fields = vars(e)
        details = {
            key: plain(value) for key, value in fields.items() if key not in _NOT_DETAILS and key != PAYMENT_METHOD
        }
        if PAYMENT_METHOD in fields:
            details["has_payment_method"] = fields[PAYMENT_METHOD] is not None
        account_id = e.account_id if isinstance(e, Subscription.Started) else None
        event = type(e).__name__
        view.add_entry(
            e.originator_id, e.originator_version, account_id, e.timestamp, meta.get("actor"), event, details
        )


def plain(value: Any) -> Any:
    """A JSON-friendly form of an event field (money as its exact decimal text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
