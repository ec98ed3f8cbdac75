"""Givens of the subscriptions tests: plans and subscriptions in known states, a fixed clock.

Every given aggregate has had its events collected, so a test's ``when`` sees only what its own
command emitted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain.subscriptions.plan import Plan
from domain.subscriptions.subscription import (
    SUCCEEDED,
    DunningLadder,
    Subscription,
)

T0 = datetime(2024, 1, 31, 12, 0, tzinfo=UTC)
ACCOUNT = UUID("00000000-0000-4000-8000-00000000f001")
SUB_ID = UUID("00000000-0000-4000-8000-00000000f101")
LADDER = DunningLadder((1, 3, 5), "unpaid")


def a_plan(code: str = "pro", price: str = "20.00", interval: str = "month", **fields: object) -> Plan:
    plan = Plan.create(
        code=code,
        name=fields.pop("name", code.title()),  # type: ignore[arg-type]
        price=Decimal(price),
        currency=fields.pop("currency", "USD"),  # type: ignore[arg-type]
        interval=interval,
        now=T0,
        **fields,  # type: ignore[arg-type]
    )
    plan.collect_events()
    return plan


FREE = a_plan("free", "0")
PRO = a_plan("pro", "20.00")
BUSINESS = a_plan("business", "50.00", features=["bulk_import"])
PRO_YEARLY = a_plan("pro-yearly", "200.00", "year")
TRIAL = a_plan("trial", "30.00", trial_days=14)
EURO = a_plan("euro", "20.00", currency="EUR")


def started(plan: Plan, payment_method: str | None = "pm_ok", at: datetime = T0) -> Subscription:
    sub = Subscription.start(
        subscription_id=SUB_ID, account_id=ACCOUNT, plan=plan, payment_method=payment_method, now=at
    )
    sub.collect_events()
    return sub


def paid(sub: Subscription, at: datetime | None = None) -> Subscription:
    """``sub``'s open invoice, paid."""
    sub.record_attempt(sub.next_attempt(), SUCCEEDED, at=at or sub.period_start, ladder=LADDER, now=at or T0)
    sub.collect_events()
    return sub


def an_active(plan: Plan = PRO, payment_method: str | None = "pm_ok") -> Subscription:
    """On ``plan``, active since T0 (its first invoice paid)."""
    sub = started(plan, payment_method)
    return paid(sub) if sub.open_invoice_id else sub


def past_due(plan: Plan = PRO) -> Subscription:
    """Its renewal at the first period end failed once (declined)."""
    sub = an_active(plan)
    due = sub.period_end
    sub.renew(plan=plan, now=due)
    sub.record_attempt(sub.next_attempt(), "declined", at=due, ladder=LADDER, now=due)
    sub.collect_events()
    return sub


def days(n: float) -> timedelta:
    return timedelta(days=n)
