"""The revenue read model: active subscribers and MRR by plan, MRR movements per day, subscriber churn.

The projection keeps, per subscription, what it adds to MRR now (``mrr.contribution``); every event
that changes a subscription's status, plan or price moves the counters by the difference and
records the movement on the event's day, so the revenue view reads counters and never scans.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.subscriptions.plan import FREE_PLAN_CODE
from domain.subscriptions.proration import minor_unit
from domain.subscriptions.subscription import Subscription, SubscriptionStatus
from projections.subscriptions.mrr import Contribution, contribution, movements

S = SubscriptionStatus
SUBSCRIBERS, MRR = "subscribers", "mrr"
AMOUNT, COUNT = "amount", "count"
FACTS = ("account_id", "status", "plan_code", "price", "currency", "interval")


class RevenueView(Protocol):
    """What the revenue projection needs from its store (implemented in infrastructure)."""

    def track(self, subscription_id: UUID, **facts: Any) -> None:
        """Remember (or change) a subscription's account, status, plan_code, price, currency, interval and mrr."""
        ...

    def facts(self, subscription_id: UUID) -> dict[str, Any]: ...

    def paid_before(self, account_id: UUID) -> bool: ...

    def mark_paid(self, account_id: UUID, day: date) -> None: ...

    def bump_plan(self, plan_code: str, currency: str, metric: str, delta: Decimal) -> None: ...

    def bump_movement(self, day: date, currency: str, kind: str, metric: str, delta: Decimal) -> None: ...


def contribution_of(facts: dict[str, Any]) -> Contribution | None:
    quantum = Decimal(1).scaleb(-minor_unit(facts["currency"]))
    return contribution(
        facts["status"],
        facts["plan_code"],
        facts["price"],
        facts["interval"],
        facts["currency"],
        quantum,
        FREE_PLAN_CODE,
    )


class RevenueProjection(EventHandlers[RevenueView]):
    """Moves the revenue counters as subscriptions start, change plan or price, pay, lapse and end."""

    name = "subscription_revenue"

    @handles(Subscription.Started)
    def started(self, e: Subscription.Started, view: RevenueView, meta: dict[str, Any]) -> None:
        facts = {
            "account_id": e.account_id,
            "status": e.status,
            "plan_code": e.plan_code,
            "price": e.price,
            "currency": e.currency,
            "interval": e.interval,
        }
        _move(e, view, None, facts)

    @handles(Subscription.Activated)
    @handles(Subscription.Resumed)
    def activated(self, e: Subscription.Event, view: RevenueView, meta: dict[str, Any]) -> None:
        _change(e, view, status=S.ACTIVE)

    @handles(Subscription.BecamePastDue)
    def became_past_due(self, e: Subscription.BecamePastDue, view: RevenueView, meta: dict[str, Any]) -> None:
        _change(e, view, status=S.PAST_DUE)

    @handles(Subscription.BecameUnpaid)
    def became_unpaid(self, e: Subscription.BecameUnpaid, view: RevenueView, meta: dict[str, Any]) -> None:
        _change(e, view, status=S.UNPAID)

    @handles(Subscription.Paused)
    def paused(self, e: Subscription.Paused, view: RevenueView, meta: dict[str, Any]) -> None:
        _change(e, view, status=S.PAUSED)

    @handles(Subscription.Canceled)
    def canceled(self, e: Subscription.Canceled, view: RevenueView, meta: dict[str, Any]) -> None:
        _change(e, view, status=S.CANCELED)

    @handles(Subscription.Expired)
    def expired(self, e: Subscription.Expired, view: RevenueView, meta: dict[str, Any]) -> None:
        _change(e, view, status=S.EXPIRED)

    @handles(Subscription.Renewed)
    @handles(Subscription.PlanChanged)
    def plan_or_price(
        self, e: Subscription.Renewed | Subscription.PlanChanged, view: RevenueView, meta: dict[str, Any]
    ) -> None:
        _change(e, view, plan_code=e.plan_code, price=e.price, interval=e.interval)


def _change(e: Subscription.Event, view: RevenueView, **changes: Any) -> None:
    stored = view.facts(e.originator_id)
    old = {name: stored[name] for name in FACTS}
    _move(e, view, old, {**old, **changes})


def _move(e: Subscription.Event, view: RevenueView, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    before = contribution_of(old) if old is not None else None
    after = contribution_of(new)
    account_id: UUID = new["account_id"]
    day = e.timestamp.date()
    for moved in movements(before, after, view.paid_before(account_id)):
        view.bump_movement(day, moved.currency, moved.kind, AMOUNT, moved.amount)
        view.bump_movement(day, moved.currency, moved.kind, COUNT, Decimal(1))
    if before is not None:
        view.bump_plan(before.plan_code, before.currency, SUBSCRIBERS, Decimal(-1))
        view.bump_plan(before.plan_code, before.currency, MRR, -before.mrr)
    if after is not None:
        view.bump_plan(after.plan_code, after.currency, SUBSCRIBERS, Decimal(1))
        view.bump_plan(after.plan_code, after.currency, MRR, after.mrr)
        view.mark_paid(account_id, day)
    view.track(e.originator_id, **new, mrr=after.mrr if after is not None else Decimal(0))
