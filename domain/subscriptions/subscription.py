"""The Subscription aggregate: one account's plan and its billing lifecycle (Stripe's statuses).

Statuses: ``trialing`` (a paid plan's trial), ``incomplete`` (a paid plan's first payment not yet
made), ``active``, ``past_due`` (a payment failed, retries pending), ``unpaid`` (the retries ran
out; the subscription stays, its access drops to the free plan's), ``paused``, and the two ends,
``canceled`` and ``expired`` (an incomplete subscription whose first payment never came).

Invariants:
- an account has at most one live subscription: a ``SubscriptionSlot`` per account is taken in
  the same save as the subscription's start and released in the save that ends it, so of two
  subscribes racing for one account exactly one commits;
- an ended subscription accepts no command;
- at most one invoice is open at a time; a payment attempt has a deterministic id (the
  subscription, the invoice's key — for a renewal its period start — and the attempt number), so
  a job run twice asks the gateway with the same id and is charged once;
- a plan change is immediate only on a trial or as an upgrade (a higher monthly price, an interval
  at least as long), prorated to the minor unit; a downgrade waits for the period end;
- the dunning ladder retries a failed payment after its offsets (days after the first failure);
  after the last it ends ``unpaid`` or ``canceled``, as configured;
- every time-driven move (renewal, trial end, retry, scheduled cancel or downgrade, expiry) is
  due at ``next_action_at``; ``due_action(as_of)`` says which, and nothing is due before it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.subscriptions.errors import (
    AlreadyOnPlan,
    AlreadySubscribed,
    CancelAlreadyScheduled,
    CancelAtPeriodEndNotAllowed,
    CancellationScheduled,
    CurrencyMismatch,
    InvalidPaymentMethod,
    NoCancellationScheduled,
    NoOpenInvoice,
    NotPaused,
    PauseNotAllowed,
    PaymentMethodRequired,
    PaymentMethodUnchanged,
    PlanChangeAlreadyScheduled,
    PlanChangeNotAllowed,
    SubscriptionEnded,
)
from domain.subscriptions.plan import Plan, months_in
from domain.subscriptions.proration import Line, prorate, to_minor_unit, unused_fraction


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"
    EXPIRED = "expired"


S = SubscriptionStatus
LIVE: Final = frozenset({S.TRIALING, S.INCOMPLETE, S.ACTIVE, S.PAST_DUE, S.UNPAID, S.PAUSED})
ENDED: Final = frozenset({S.CANCELED, S.EXPIRED})
# The reason of the cancellation that follows an account's closing (the closed-accounts policy).
ACCOUNT_CLOSED: Final = "account_closed"
# How long an incomplete subscription waits for its first payment before it expires (Stripe: 23 hours).
INCOMPLETE_WINDOW: Final = timedelta(hours=23)
# A free subscription catches up at most this many periods in one renewal (a century of months).
MAX_SKIPPED_PERIODS: Final = 1200
FINAL_STATUSES: Final = (S.UNPAID.value, S.CANCELED.value)
PAYMENT_METHOD_MAX: Final = 200
_PM_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

# Payment outcomes as a gateway answers them.
SUCCEEDED: Final = "succeeded"
PENDING: Final = "pending"
DECLINED: Final = "declined"
INSUFFICIENT_FUNDS: Final = "insufficient_funds"
NO_PAYMENT_METHOD: Final = "no_payment_method"
CHARGE_STATUSES: Final = frozenset({SUCCEEDED, PENDING, DECLINED, INSUFFICIENT_FUNDS})


@dataclass(frozen=True)
class DunningLadder:
    """When a failed payment is retried (days after the first failure) and what follows the last retry."""

    retry_days: tuple[int, ...] = (1, 3, 5)
    final_status: str = S.UNPAID.value

    def __post_init__(self) -> None:
        days = self.retry_days
        if not all(0 < d <= 60 for d in days) or list(days) != sorted(set(days)) or len(days) > 10:
            raise ValueError("retry days are 1 to 10 increasing whole days, each 1 to 60")
        if self.final_status not in FINAL_STATUSES:
            raise ValueError(f"the final status is one of {list(FINAL_STATUSES)}")


@dataclass(frozen=True)
class PaymentAttempt:
    """One charge of the open invoice: the gateway is asked with ``attempt_id`` (its idempotency key)."""

    invoice_id: UUID
    attempt_id: UUID
    attempt: int
    amount: Decimal
    currency: str


def attempt_id_for(subscription_id: UUID, invoice_key: str, attempt: int) -> UUID:
    """``uuid5(subscription, key#attempt)``: the same attempt of the same invoice has the same id."""
    return uuid5(subscription_id, f"{invoice_key}#{attempt}")


def invoice_id_for(subscription_id: UUID, invoice_key: str) -> UUID:
    return uuid5(subscription_id, f"invoice:{invoice_key}")


def check_payment_method(payment_method: str | None) -> str | None:
    if payment_method is None:
        return None
    if not 0 < len(payment_method) <= PAYMENT_METHOD_MAX or not set(payment_method) <= _PM_CHARS:
        raise InvalidPaymentMethod()
    return payment_method


def add_interval(moment: datetime, interval: str, anchor_day: int) -> datetime:
    """``moment`` plus one month or year, on the anchor day (clamped to the month's last day)."""
    months = moment.month - 1 + months_in(interval)
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_action_at(
    status: str,
    *,
    period_end: datetime,
    trial_end: datetime | None,
    next_retry_at: datetime | None,
    incomplete_due_at: datetime | None,
    cancel_at_period_end: bool,
) -> datetime | None:
    """When a job must look at a subscription next, from the fields a read model keeps; None: never.

    incomplete: ``incomplete_due_at`` (its first charge when none was made yet, else its expiry);
    trialing: the trial end; active: the period end; past_due: the next retry (or the period end,
    if set to cancel then, whichever comes first); unpaid: the period end if set to cancel;
    paused and ended: never.
    """
    if status == S.INCOMPLETE:
        return incomplete_due_at
    if status == S.TRIALING:
        return trial_end
    if status == S.ACTIVE:
        return period_end
    if status in (S.PAST_DUE, S.UNPAID):
        candidates = [next_retry_at] if status == S.PAST_DUE and next_retry_at is not None else []
        if cancel_at_period_end:
            candidates.append(period_end)
        return min(candidates) if candidates else None
    return None


# What ``due_action`` answers.
EXPIRE: Final = "expire"
FIRST_CHARGE: Final = "first_charge"
RENEW: Final = "renew"
RETRY: Final = "retry"
CANCEL_AT_PERIOD_END: Final = "cancel_at_period_end"


@dataclass(frozen=True)
class PlanChange:
    """What a plan change at ``at`` does: now (with these lines and period) or at the period end."""

    immediate: bool
    lines: list[Line]
    period_start: datetime
    period_end: datetime
    invoice_key: str

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


class Subscription(Aggregate):
    """One account's subscription to a plan, from its start to its end."""

    class Started(Aggregate.Created):
        account_id: UUID
        plan_id: UUID
        plan_code: str
        price: Decimal
        currency: str
        interval: str
        status: str
        period_start: datetime
        period_end: datetime
        trial_end: datetime | None
        payment_method: str | None

    class InvoiceIssued(Aggregate.Event):
        invoice_id: UUID
        number: str
        key: str
        lines: list[dict[str, Any]]
        total: Decimal
        currency: str
        period_start: datetime
        period_end: datetime

        def apply(self, sub: Subscription) -> None:
            sub.invoices_issued += 1
            sub.open_invoice_id = self.invoice_id
            sub.open_invoice_key = self.key
            sub.amount_due = self.total
            sub.attempts = 0
            sub.failures = 0
            sub.first_failed_at = None
            sub.next_retry_at = None
            sub.pending_attempt_id = None

    class PaymentPending(Aggregate.Event):
        invoice_id: UUID
        attempt_id: UUID
        attempt: int
        amount: Decimal
        currency: str

        def apply(self, sub: Subscription) -> None:
            sub.attempts = self.attempt
            sub.pending_attempt_id = self.attempt_id
            sub.next_retry_at = None

    class PaymentSucceeded(Aggregate.Event):
        invoice_id: UUID
        attempt_id: UUID
        attempt: int
        amount: Decimal
        currency: str

        def apply(self, sub: Subscription) -> None:
            sub.attempts = self.attempt
            sub._close_invoice()

    class PaymentFailed(Aggregate.Event):
        invoice_id: UUID
        attempt_id: UUID
        attempt: int
        amount: Decimal
        currency: str
        reason: str
        next_retry_at: datetime | None
        failed_at: datetime  # when the attempt was due: the dunning ladder counts from the first one

        def apply(self, sub: Subscription) -> None:
            sub.attempts = self.attempt
            sub.failures += 1
            sub.pending_attempt_id = None
            if sub.first_failed_at is None:
                sub.first_failed_at = self.failed_at
            sub.next_retry_at = self.next_retry_at

    class Activated(Aggregate.Event):
        period_start: datetime
        period_end: datetime

        def apply(self, sub: Subscription) -> None:
            sub.status = S.ACTIVE.value
            sub.period_start, sub.period_end = self.period_start, self.period_end
            sub.next_retry_at = None

    class Renewed(Aggregate.Event):
        period_start: datetime
        period_end: datetime
        plan_id: UUID
        plan_code: str
        price: Decimal
        interval: str

        def apply(self, sub: Subscription) -> None:
            sub.period_start, sub.period_end = self.period_start, self.period_end
            sub.plan_id, sub.plan_code, sub.price, sub.interval = (
                self.plan_id,
                self.plan_code,
                self.price,
                self.interval,
            )
            sub.downgrade_plan_id = sub.downgrade_plan_code = None

    class BecamePastDue(Aggregate.Event):
        next_retry_at: datetime | None

        def apply(self, sub: Subscription) -> None:
            sub.status = S.PAST_DUE.value
            sub.next_retry_at = self.next_retry_at

    class BecameUnpaid(Aggregate.Event):
        def apply(self, sub: Subscription) -> None:
            sub.status = S.UNPAID.value
            sub.next_retry_at = None

    class Canceled(Aggregate.Event):
        reason: str
        at: datetime

        def apply(self, sub: Subscription) -> None:
            sub.end(S.CANCELED, self.at)

    class Expired(Aggregate.Event):
        at: datetime

        def apply(self, sub: Subscription) -> None:
            sub.end(S.EXPIRED, self.at)

    class CancelScheduled(Aggregate.Event):
        at: datetime

        def apply(self, sub: Subscription) -> None:
            sub.cancel_at_period_end = True

    class CancelRevoked(Aggregate.Event):
        def apply(self, sub: Subscription) -> None:
            sub.cancel_at_period_end = False

    class Paused(Aggregate.Event):
        at: datetime

        def apply(self, sub: Subscription) -> None:
            sub.status = S.PAUSED.value
            sub.paused_at = self.at

    class Resumed(Aggregate.Event):
        at: datetime
        period_start: datetime
        period_end: datetime

        def apply(self, sub: Subscription) -> None:
            sub.status = S.ACTIVE.value
            sub.paused_at = None
            sub.period_start, sub.period_end = self.period_start, self.period_end
            sub.anchor_day = self.period_end.day

    class PlanChanged(Aggregate.Event):
        old_plan_id: UUID
        plan_id: UUID
        plan_code: str
        price: Decimal
        interval: str
        lines: list[dict[str, Any]]
        period_start: datetime
        period_end: datetime

        def apply(self, sub: Subscription) -> None:
            sub.plan_id, sub.plan_code, sub.price, sub.interval = (
                self.plan_id,
                self.plan_code,
                self.price,
                self.interval,
            )
            if (self.period_start, self.period_end) != (sub.period_start, sub.period_end):
                sub.period_start, sub.period_end = self.period_start, self.period_end
                sub.anchor_day = self.period_start.day
            sub.downgrade_plan_id = sub.downgrade_plan_code = None

    class DowngradeScheduled(Aggregate.Event):
        plan_id: UUID
        plan_code: str
        effective_at: datetime

        def apply(self, sub: Subscription) -> None:
            sub.downgrade_plan_id, sub.downgrade_plan_code = self.plan_id, self.plan_code

    class DowngradeCanceled(Aggregate.Event):
        def apply(self, sub: Subscription) -> None:
            sub.downgrade_plan_id = sub.downgrade_plan_code = None

    class PaymentMethodUpdated(Aggregate.Event):
        payment_method: str

        def apply(self, sub: Subscription) -> None:
            sub.payment_method = self.payment_method

    def __init__(
        self,
        account_id: UUID,
        plan_id: UUID,
        plan_code: str,
        price: Decimal,
        currency: str,
        interval: str,
        status: str,
        period_start: datetime,
        period_end: datetime,
        trial_end: datetime | None,
        payment_method: str | None,
    ) -> None:
        self.account_id = account_id
        self.plan_id = plan_id
        self.plan_code = plan_code
        self.price = price
        self.currency = currency
        self.interval = interval
        self.status: str = S(status).value  # a plain string, as a snapshot gives it back
        self.period_start = period_start
        self.period_end = period_end
        self.trial_end = trial_end
        self.payment_method = payment_method
        self.started_at = period_start
        self.anchor_day = (trial_end or period_start).day
        self.cancel_at_period_end = False
        self.downgrade_plan_id: UUID | None = None
        self.downgrade_plan_code: str | None = None
        self.paused_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.invoices_issued = 0
        self.open_invoice_id: UUID | None = None
        self.open_invoice_key: str | None = None
        self.amount_due = Decimal(0)
        self.attempts = 0
        self.failures = 0
        self.first_failed_at: datetime | None = None
        self.next_retry_at: datetime | None = None
        self.pending_attempt_id: UUID | None = None

    def _close_invoice(self) -> None:
        self.open_invoice_id = self.open_invoice_key = None
        self.amount_due = Decimal(0)
        self.failures = 0
        self.first_failed_at = self.next_retry_at = None
        self.pending_attempt_id = None

    # --- start ---------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        subscription_id: UUID,
        account_id: UUID,
        plan: Plan,
        payment_method: str | None,
        now: datetime,
    ) -> Subscription:
        """A new subscription: free plans are active, trials trial, other paid plans wait for their first payment."""
        plan.check_subscribable()
        payment_method = check_payment_method(payment_method)
        trial_end = None
        if plan.is_free:
            status, period_end = S.ACTIVE, add_interval(now, plan.interval, now.day)
        elif plan.trial_days:
            trial_end = now + timedelta(days=plan.trial_days)
            status, period_end = S.TRIALING, trial_end
        else:
            if payment_method is None:
                raise PaymentMethodRequired(f"The plan {plan.code} costs {plan.price} {plan.currency}")
            status, period_end = S.INCOMPLETE, add_interval(now, plan.interval, now.day)
        sub = cls._create(
            cls.Started,
            id=subscription_id,
            timestamp=now,
            account_id=account_id,
            plan_id=plan.id,
            plan_code=plan.code,
            price=plan.price,
            currency=plan.currency,
            interval=plan.interval,
            status=status.value,
            period_start=now,
            period_end=period_end,
            trial_end=trial_end,
            payment_method=payment_method,
        )
        if status == S.INCOMPLETE:
            sub._issue_invoice(
                key=now.isoformat(),
                lines=[Line("plan", f"{plan.name}, one {plan.interval}", plan.price)],
                period_start=now,
                period_end=period_end,
                now=now,
            )
        return sub

    # --- reading ---------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def incomplete_due_at(self) -> datetime | None:
        """An incomplete subscription's next move: its first charge if none was made, else its expiry."""
        if self.status != S.INCOMPLETE:
            return None
        if self.attempts == 0 and self.open_invoice_id is not None:
            return self.started_at
        return self.started_at + INCOMPLETE_WINDOW

    @property
    def next_action_at(self) -> datetime | None:
        return next_action_at(
            self.status,
            period_end=self.period_end,
            trial_end=self.trial_end,
            next_retry_at=self.next_retry_at,
            incomplete_due_at=self.incomplete_due_at,
            cancel_at_period_end=self.cancel_at_period_end,
        )

    def due_action(self, as_of: datetime) -> str | None:
        """What is due at ``as_of``, or None (then a job writes nothing)."""
        due = self.next_action_at
        if due is None or as_of < due:
            return None
        if self.status == S.INCOMPLETE:
            return FIRST_CHARGE if self.attempts == 0 and self.open_invoice_id is not None else EXPIRE
        if self.cancel_at_period_end and as_of >= self.period_end:
            return CANCEL_AT_PERIOD_END
        if self.status in (S.TRIALING, S.ACTIVE):
            return RENEW
        return RETRY if self.status == S.PAST_DUE else None

    @property
    def renewal_plan_id(self) -> UUID:
        """The plan the next period is on: the scheduled downgrade's, or the current one."""
        return self.downgrade_plan_id or self.plan_id

    def next_attempt(self) -> PaymentAttempt:
        """The next charge of the open invoice."""
        if self.open_invoice_id is None or self.open_invoice_key is None:
            raise NoOpenInvoice()
        attempt = self.attempts + 1
        return PaymentAttempt(
            invoice_id=self.open_invoice_id,
            attempt_id=attempt_id_for(self.id, self.open_invoice_key, attempt),
            attempt=attempt,
            amount=self.amount_due,
            currency=self.currency,
        )

    def _check_live(self) -> None:
        if self.status in ENDED:
            raise SubscriptionEnded(f"The subscription is {self.status}")

    # --- time-driven moves (the jobs) ------------------------------------------------------

    def expire(self, *, now: datetime) -> None:
        if self.status != S.INCOMPLETE:
            raise SubscriptionEnded(f"Only an incomplete subscription expires; it is {self.status}")
        self.trigger_event(self.Expired, timestamp=now, at=self.started_at + INCOMPLETE_WINDOW)

    def cancel_at_end(self, *, now: datetime) -> None:
        """The period ended on a subscription set to cancel then."""
        self._check_live()
        if not self.cancel_at_period_end:
            raise NoCancellationScheduled()
        self.trigger_event(self.Canceled, timestamp=now, reason="period_end", at=self.period_end)

    def renew(self, *, plan: Plan, now: datetime, through: datetime | None = None) -> bool:
        """The next period starts (at the trial's or the period's end) on ``plan`` at its current price;
        an invoice is issued when it costs something. True when a payment is to be made.

        A free period bills nothing, so a free subscription behind ``through`` (a job's ``as_of``: after
        an outage, or an account older than the free-plan policy) moves at once to the period holding it.
        """
        if self.status not in (S.TRIALING, S.ACTIVE):
            raise PlanChangeNotAllowed(f"A {self.status} subscription does not renew")
        start = self.period_end
        end = add_interval(start, plan.interval, self.anchor_day)
        if plan.price == 0 and through is not None:
            for _ in range(MAX_SKIPPED_PERIODS):
                if end > through:
                    break
                start, end = end, add_interval(end, plan.interval, self.anchor_day)
        self.trigger_event(
            self.Renewed,
            timestamp=now,
            period_start=start,
            period_end=end,
            plan_id=plan.id,
            plan_code=plan.code,
            price=plan.price,
            interval=plan.interval,
        )
        if plan.price == 0:
            if self.status == S.TRIALING:
                self.trigger_event(self.Activated, timestamp=now, period_start=start, period_end=end)
            return False
        self._issue_invoice(
            key=start.isoformat(),
            lines=[Line("plan", f"{plan.name}, one {plan.interval}", plan.price)],
            period_start=start,
            period_end=end,
            now=now,
        )
        return True

    def _issue_invoice(
        self, *, key: str, lines: list[Line], period_start: datetime, period_end: datetime, now: datetime
    ) -> None:
        total = sum((line.amount for line in lines), Decimal(0))
        self.trigger_event(
            self.InvoiceIssued,
            timestamp=now,
            invoice_id=invoice_id_for(self.id, key),
            number=f"{self.id.hex[:12].upper()}-{self.invoices_issued + 1:04d}",
            key=key,
            lines=[line.as_dict() for line in lines],
            total=to_minor_unit(total, self.currency),
            currency=self.currency,
            period_start=period_start,
            period_end=period_end,
        )

    def record_attempt(
        self,
        attempt: PaymentAttempt,
        outcome: str,
        *,
        at: datetime,
        ladder: DunningLadder,
        now: datetime,
    ) -> None:
        """What the gateway answered for ``attempt``, made at ``at`` (when it was due)."""
        if attempt.invoice_id != self.open_invoice_id:
            raise NoOpenInvoice(f"Invoice {attempt.invoice_id} is not the open one")
        fields = {
            "invoice_id": attempt.invoice_id,
            "attempt_id": attempt.attempt_id,
            "attempt": attempt.attempt,
            "amount": attempt.amount,
            "currency": attempt.currency,
        }
        if outcome == SUCCEEDED:
            self.trigger_event(self.PaymentSucceeded, timestamp=now, **fields)
            if self.status in (S.INCOMPLETE, S.TRIALING, S.PAST_DUE, S.UNPAID):
                self.trigger_event(
                    self.Activated, timestamp=now, period_start=self.period_start, period_end=self.period_end
                )
        elif outcome == PENDING:
            self.trigger_event(self.PaymentPending, timestamp=now, **fields)
            if self.status == S.TRIALING:  # the trial is over; a failure to settle starts the dunning
                self.trigger_event(
                    self.Activated, timestamp=now, period_start=self.period_start, period_end=self.period_end
                )
        else:
            self._record_failure(fields, outcome, at=at, ladder=ladder, now=now)

    def _record_failure(
        self, fields: dict[str, Any], reason: str, *, at: datetime, ladder: DunningLadder, now: datetime
    ) -> None:
        failures = self.failures + 1
        base = self.first_failed_at or at
        retry_at = None
        dunning = self.status in (S.TRIALING, S.ACTIVE, S.PAST_DUE)
        if dunning and failures <= len(ladder.retry_days):
            retry_at = base + timedelta(days=ladder.retry_days[failures - 1])
        self.trigger_event(
            self.PaymentFailed, timestamp=now, reason=reason, next_retry_at=retry_at, failed_at=at, **fields
        )
        if not dunning:
            return  # incomplete waits for a new payment method or its expiry; unpaid for a new payment method
        if retry_at is not None:
            if self.status != S.PAST_DUE:
                self.trigger_event(self.BecamePastDue, timestamp=now, next_retry_at=retry_at)
        elif ladder.final_status == S.CANCELED:
            self.trigger_event(self.Canceled, timestamp=now, reason="payment_failed", at=at)
        else:
            self.trigger_event(self.BecameUnpaid, timestamp=now)

    def settle_pending(self, attempt_id: UUID, outcome: str, *, ladder: DunningLadder, now: datetime) -> bool:
        """The gateway settled a pending charge (a webhook); False when it is not the pending one (nothing to do)."""
        if self.status in ENDED or attempt_id != self.pending_attempt_id or self.open_invoice_id is None:
            return False
        attempt = PaymentAttempt(self.open_invoice_id, attempt_id, self.attempts, self.amount_due, self.currency)
        self.record_attempt(attempt, outcome, at=now, ladder=ladder, now=now)
        return True

    # --- the owner's commands --------------------------------------------------------------

    def cancel(self, *, at_period_end: bool, now: datetime) -> None:
        self._check_live()
        if not at_period_end:
            self.trigger_event(self.Canceled, timestamp=now, reason="requested", at=now)
            return
        if self.cancel_at_period_end:
            raise CancelAlreadyScheduled()
        if self.status not in (S.TRIALING, S.ACTIVE, S.PAST_DUE):
            raise CancelAtPeriodEndNotAllowed(f"The subscription is {self.status}")
        if self.downgrade_plan_id is not None:
            self.trigger_event(self.DowngradeCanceled, timestamp=now)
        self.trigger_event(self.CancelScheduled, timestamp=now, at=self.period_end)

    def end_with_account(self, *, now: datetime) -> None:
        """The account was closed: the subscription ends now, whatever was scheduled (nothing more is billed)."""
        self._check_live()
        self.trigger_event(self.Canceled, timestamp=now, reason=ACCOUNT_CLOSED, at=now)

    def revoke_cancellation(self, *, now: datetime) -> None:
        self._check_live()
        if not self.cancel_at_period_end:
            raise NoCancellationScheduled()
        self.trigger_event(self.CancelRevoked, timestamp=now)

    def pause(self, *, now: datetime) -> None:
        self._check_live()
        if self.status != S.ACTIVE or self.cancel_at_period_end:
            raise PauseNotAllowed(f"The subscription is {self.status}")
        if now >= self.period_end:
            raise PauseNotAllowed("The period has ended: the subscription renews first")
        self.trigger_event(self.Paused, timestamp=now, at=now)

    def resume(self, *, now: datetime) -> None:
        """Back to active with the time that was left at the pause (the period moves by the pause's length)."""
        self._check_live()
        if self.status != S.PAUSED or self.paused_at is None:
            raise NotPaused()
        pause = max(now - self.paused_at, timedelta(0))
        self.trigger_event(
            self.Resumed,
            timestamp=now,
            at=now,
            period_start=self.period_start + pause,
            period_end=self.period_end + pause,
        )

    def update_payment_method(self, *, payment_method: str, now: datetime) -> None:
        self._check_live()
        checked = check_payment_method(payment_method)
        if checked == self.payment_method:
            raise PaymentMethodUnchanged()
        self.trigger_event(self.PaymentMethodUpdated, timestamp=now, payment_method=checked)

    @property
    def collectable(self) -> bool:
        """Whether the owner's new payment method should be charged for the open invoice at once."""
        return (
            self.status in (S.INCOMPLETE, S.PAST_DUE, S.UNPAID)
            and self.open_invoice_id is not None
            and self.pending_attempt_id is None
        )

    # --- plan changes -----------------------------------------------------------------------

    def plan_change(self, plan: Plan, at: datetime) -> PlanChange:
        """What changing to ``plan`` at ``at`` would do (the preview); refuses what is not allowed."""
        self._check_live()
        plan.check_subscribable()
        if self.status not in (S.TRIALING, S.ACTIVE):
            raise PlanChangeNotAllowed(f"The subscription is {self.status}")
        if self.cancel_at_period_end:
            raise CancellationScheduled()
        if plan.currency != self.currency:
            raise CurrencyMismatch(f"The subscription is billed in {self.currency}, the plan in {plan.currency}")
        key = f"change:v{self.version}:{plan.id}"
        if plan.id == self.plan_id:
            if self.downgrade_plan_id is None:
                raise AlreadyOnPlan(f"The subscription is on {plan.code}")
            return PlanChange(False, [], self.period_start, self.period_end, key)  # takes the downgrade back
        if self.status == S.TRIALING:
            return PlanChange(True, [], self.period_start, self.period_end, key)
        current_monthly = self.price / months_in(self.interval)
        upgrade = plan.monthly_price > current_monthly and months_in(plan.interval) >= months_in(self.interval)
        if not upgrade:
            if plan.id == self.downgrade_plan_id:
                raise PlanChangeAlreadyScheduled(f"The change to {plan.code} is already scheduled")
            return PlanChange(False, [], self.period_start, self.period_end, key)
        if self.price == 0 or plan.interval != self.interval:
            # A new billing period from now: credit for the unused old one, the new plan in full.
            credit = -to_minor_unit(self.price * unused_fraction(self.period_start, self.period_end, at), self.currency)
            lines = [Line("credit", f"Unused time on {self.plan_code}", credit)] if credit else []
            lines.append(Line("charge", f"{plan.name}, one {plan.interval}", plan.price))
            return PlanChange(True, lines, at, add_interval(at, plan.interval, at.day), key)
        lines = prorate(
            self.price,
            plan.price,
            self.currency,
            self.period_start,
            self.period_end,
            at,
            old_name=self.plan_code,
            new_name=plan.code,
        )
        return PlanChange(True, lines, self.period_start, self.period_end, key)

    def change_plan(self, plan: Plan, change: PlanChange, *, now: datetime) -> bool:
        """Apply ``change`` (from ``plan_change``); True when an invoice is open for payment now."""
        if plan.id == self.plan_id:
            self.trigger_event(self.DowngradeCanceled, timestamp=now)
            return False
        if not change.immediate:
            self.trigger_event(
                self.DowngradeScheduled,
                timestamp=now,
                plan_id=plan.id,
                plan_code=plan.code,
                effective_at=self.period_end,
            )
            return False
        if change.total > 0 and self.payment_method is None:
            raise PaymentMethodRequired(f"The plan {plan.code} costs {plan.price} {plan.currency}")
        self.trigger_event(
            self.PlanChanged,
            timestamp=now,
            old_plan_id=self.plan_id,
            plan_id=plan.id,
            plan_code=plan.code,
            price=plan.price,
            interval=plan.interval,
            lines=[line.as_dict() for line in change.lines],
            period_start=change.period_start,
            period_end=change.period_end,
        )
        if change.total <= 0:
            return False
        self._issue_invoice(
            key=change.invoice_key,
            lines=change.lines,
            period_start=now if change.period_start < now else change.period_start,
            period_end=change.period_end,
            now=now,
        )
        return True

    def end(self, status: SubscriptionStatus, at: datetime) -> None:
        """What every ending applies (canceled or expired): no retry, no payment pending from now on."""
        self.status = status.value
        self.ended_at = at
        self.next_retry_at = None
        self.pending_attempt_id = None


class SubscriptionSlot(Aggregate):
    """An account's one place for a live subscription: taken when one starts, released when it ends.

    Its id is derived from the account, so the first subscribes of an account race on its first
    event, and later ones on its next version: of two racing, one commits.
    """

    class Opened(Aggregate.Created):
        account_id: UUID

    class Taken(Aggregate.Event):
        subscription_id: UUID

        def apply(self, slot: SubscriptionSlot) -> None:
            slot.subscription_id = self.subscription_id
            slot.latest_id = self.subscription_id

    class Released(Aggregate.Event):
        subscription_id: UUID

        def apply(self, slot: SubscriptionSlot) -> None:
            slot.subscription_id = None

    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.subscription_id: UUID | None = None
        self.latest_id: UUID | None = None

    @classmethod
    def open(cls, *, account_id: UUID, now: datetime) -> SubscriptionSlot:
        return cls._create(cls.Opened, id=slot_id_for(account_id), timestamp=now, account_id=account_id)

    def take(self, subscription_id: UUID, *, now: datetime) -> None:
        if self.subscription_id is not None:
            raise AlreadySubscribed(f"Subscription {self.subscription_id} is live")
        self.trigger_event(self.Taken, timestamp=now, subscription_id=subscription_id)

    def release(self, subscription_id: UUID, *, now: datetime) -> None:
        if self.subscription_id == subscription_id:
            self.trigger_event(self.Released, timestamp=now, subscription_id=subscription_id)


_SLOT_NAMESPACE: Final = uuid5(NAMESPACE_URL, "chronicle:subscription-slot")


def slot_id_for(account_id: UUID) -> UUID:
    return uuid5(_SLOT_NAMESPACE, str(account_id))
