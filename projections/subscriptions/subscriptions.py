"""The subscriptions read model: one row per subscription (status, plan, period, what is pending, when the jobs
look at it next) and its invoices.

``next_action_at`` is computed by the domain's own function from the fields the row keeps, so the
jobs' sweep (``due``) finds exactly the subscriptions the aggregate would say are due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.subscriptions.subscription import INCOMPLETE_WINDOW, LIVE, Subscription, SubscriptionStatus, next_action_at

S = SubscriptionStatus
OPEN, PAID, UNCOLLECTIBLE = "open", "paid", "uncollectible"


class SubscriptionsView(Protocol):
    """What the subscriptions projection needs from its store (implemented in infrastructure)."""

    def add_subscription(self, subscription_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_subscription(self, subscription_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def subscription(self, subscription_id: UUID) -> dict[str, Any]:
        """The row as written so far (in this batch or before)."""
        ...

    def add_invoice(self, invoice_id: UUID, **fields: Any) -> None: ...

    def update_invoice(self, invoice_id: UUID, **fields: Any) -> None: ...


def due_at(row: dict[str, Any]) -> datetime | None:
    """The row's ``next_action_at``, as ``Subscription.next_action_at`` computes it."""
    incomplete_due_at = None
    if row["status"] == S.INCOMPLETE:
        first_charge_due = row["attempts"] == 0 and row["open_invoice_id"] is not None
        incomplete_due_at = row["created_at"] if first_charge_due else row["created_at"] + INCOMPLETE_WINDOW
    return next_action_at(
        row["status"],
        period_end=row["period_end"],
        trial_end=row["trial_end"],
        next_retry_at=row["next_retry_at"],
        incomplete_due_at=incomplete_due_at,
        cancel_at_period_end=row["cancel_at_period_end"],
    )


class SubscriptionsProjection(EventHandlers[SubscriptionsView]):
    """Folds Subscription events into the subscription rows and their invoices."""

    name = "subscriptions"

    @handles(Subscription.Started)
    def started(self, e: Subscription.Started, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        row: dict[str, Any] = {
            "account_id": e.account_id,
            "status": e.status,
            "live": e.status in LIVE,
            "plan_id": e.plan_id,
            "plan_code": e.plan_code,
            "price": e.price,
            "currency": e.currency,
            "interval": e.interval,
            "period_start": e.period_start,
            "period_end": e.period_end,
            "trial_end": e.trial_end,
            "has_payment_method": e.payment_method is not None,
            "cancel_at_period_end": False,
            "pending_plan_id": None,
            "pending_plan_code": None,
            "pending_effective_at": None,
            "next_retry_at": None,
            "open_invoice_id": None,
            "attempts": 0,
            "paused_at": None,
            "ended_at": None,
            "created_at": e.timestamp,
        }
        row["next_action_at"] = due_at(row)
        view.add_subscription(e.originator_id, e.originator_version, e.timestamp, **row)

    @handles(Subscription.InvoiceIssued)
    def invoice_issued(self, e: Subscription.InvoiceIssued, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        account_id = _update(e, view, open_invoice_id=e.invoice_id, attempts=0, next_retry_at=None)
        view.add_invoice(
            e.invoice_id,
            subscription_id=e.originator_id,
            account_id=account_id,
            number=e.number,
            status=OPEN,
            lines=[{**line, "amount": str(line["amount"])} for line in e.lines],
            total=e.total,
            currency=e.currency,
            period_start=e.period_start,
            period_end=e.period_end,
            attempts=0,
            last_failure=None,
            issued_at=e.timestamp,
            paid_at=None,
        )

    @handles(Subscription.PaymentPending)
    def payment_pending(self, e: Subscription.PaymentPending, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, attempts=e.attempt, next_retry_at=None)
        view.update_invoice(e.invoice_id, attempts=e.attempt)

    @handles(Subscription.PaymentSucceeded)
    def payment_succeeded(
        self, e: Subscription.PaymentSucceeded, view: SubscriptionsView, meta: dict[str, Any]
    ) -> None:
        _update(e, view, attempts=e.attempt, open_invoice_id=None, next_retry_at=None)
        view.update_invoice(e.invoice_id, attempts=e.attempt, status=PAID, paid_at=e.timestamp)

    @handles(Subscription.PaymentFailed)
    def payment_failed(self, e: Subscription.PaymentFailed, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, attempts=e.attempt, next_retry_at=e.next_retry_at)
        view.update_invoice(e.invoice_id, attempts=e.attempt, last_failure=e.reason[:200])

    @handles(Subscription.Activated)
    def activated(self, e: Subscription.Activated, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, status=S.ACTIVE, period_start=e.period_start, period_end=e.period_end, next_retry_at=None)

    @handles(Subscription.Renewed)
    def renewed(self, e: Subscription.Renewed, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(
            e,
            view,
            period_start=e.period_start,
            period_end=e.period_end,
            plan_id=e.plan_id,
            plan_code=e.plan_code,
            price=e.price,
            interval=e.interval,
            **_NO_PENDING_CHANGE,
        )

    @handles(Subscription.BecamePastDue)
    def became_past_due(self, e: Subscription.BecamePastDue, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, status=S.PAST_DUE, next_retry_at=e.next_retry_at)

    @handles(Subscription.BecameUnpaid)
    def became_unpaid(self, e: Subscription.BecameUnpaid, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, status=S.UNPAID, next_retry_at=None)

    @handles(Subscription.Canceled)
    def canceled(self, e: Subscription.Canceled, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _end(e, view, S.CANCELED, e.at)

    @handles(Subscription.Expired)
    def expired(self, e: Subscription.Expired, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _end(e, view, S.EXPIRED, e.at)

    @handles(Subscription.CancelScheduled)
    def cancel_scheduled(self, e: Subscription.CancelScheduled, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, cancel_at_period_end=True)

    @handles(Subscription.CancelRevoked)
    def cancel_revoked(self, e: Subscription.CancelRevoked, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, cancel_at_period_end=False)

    @handles(Subscription.Paused)
    def paused(self, e: Subscription.Paused, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, status=S.PAUSED, paused_at=e.at)

    @handles(Subscription.Resumed)
    def resumed(self, e: Subscription.Resumed, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(e, view, status=S.ACTIVE, paused_at=None, period_start=e.period_start, period_end=e.period_end)

    @handles(Subscription.PlanChanged)
    def plan_changed(self, e: Subscription.PlanChanged, view: SubscriptionsView, meta: dict[str, Any]) -> None:
        _update(
            e,
            view,
            plan_id=e.plan_id,
            plan_code=e.plan_code,
            price=e.price,
            interval=e.interval,
            period_start=e.period_start,
            period_end=e.period_end,
            **_NO_PENDING_CHANGE,
        )

    @handles(Subscription.DowngradeScheduled)
    def downgrade_scheduled(
        self, e: Subscription.DowngradeScheduled, view: SubscriptionsView, meta: dict[str, Any]
    ) -> None:
        _update(e, view, pending_plan_id=e.plan_id, pending_plan_code=e.plan_code, pending_effective_at=e.effective_at)

    @handles(Subscription.DowngradeCanceled)
    def downgrade_canceled(
        self, e: Subscription.DowngradeCanceled, view: SubscriptionsView, meta: dict[str, Any]
    ) -> None:
        _update(e, view, **_NO_PENDING_CHANGE)

    @handles(Subscription.PaymentMethodUpdated)
    def payment_method_updated(
        self, e: Subscription.PaymentMethodUpdated, view: SubscriptionsView, meta: dict[str, Any]
    ) -> None:
        _update(e, view, has_payment_method=True)


_NO_PENDING_CHANGE: dict[str, Any] = {"pending_plan_id": None, "pending_plan_code": None, "pending_effective_at": None}


def _update(e: Subscription.Event, view: SubscriptionsView, **fields: Any) -> UUID:
    """Change the row (and its next_action_at, live flag with it); answers the subscription's account."""
    row = {**view.subscription(e.originator_id), **fields}
    fields["next_action_at"] = due_at(row)
    fields["live"] = row["status"] in LIVE
    view.update_subscription(e.originator_id, e.originator_version, e.timestamp, **fields)
    account_id: UUID = row["account_id"]
    return account_id


def _end(e: Subscription.Event, view: SubscriptionsView, status: S, at: datetime) -> None:
    """The subscription ended: an invoice still open can no longer be collected."""
    open_invoice = view.subscription(e.originator_id)["open_invoice_id"]
    if open_invoice is not None:
        view.update_invoice(open_invoice, status=UNCOLLECTIBLE)
    _update(e, view, status=status, ended_at=at, next_retry_at=None, open_invoice_id=None)
