"""The revenue projection, fed the events of random subscription lifecycles (the real aggregates) in random
batches through its SQL view, keeps counters equal to a recomputation from the subscriptions' states, and its
movements sum to the MRR."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, StaticPool, create_engine, select

from domain.shared.errors import DomainError
from domain.subscriptions.plan import FREE_PLAN_CODE, Plan
from domain.subscriptions.subscription import DECLINED, SUCCEEDED, DunningLadder, Subscription
from infrastructure.subscriptions.tables import REVENUE_TABLES, revenue_by_plan, revenue_movements
from infrastructure.subscriptions.writer import SqlRevenueView
from projections.subscriptions.mrr import contribution
from projections.subscriptions.revenue import RevenueProjection

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CENT = Decimal("0.01")
LADDER = DunningLadder((1, 3), "unpaid")


def plans() -> dict[str, Plan]:
    made = [
        Plan.create(code=FREE_PLAN_CODE, name="Free", price=Decimal(0), currency="USD", interval="month", now=START),
        Plan.create(code="pro", name="Pro", price=Decimal("30.00"), currency="USD", interval="month", now=START),
        Plan.create(code="team", name="Team", price=Decimal("90.00"), currency="USD", interval="month", now=START),
        Plan.create(code="yearly", name="Yearly", price=Decimal("250.00"), currency="USD", interval="year", now=START),
        Plan.create(
            code="trial",
            name="Trial",
            price=Decimal("20.00"),
            currency="USD",
            interval="month",
            trial_days=7,
            now=START,
        ),
    ]
    return {plan.code: plan for plan in made}


# Starts and plan changes twice as often: most lifecycles reach paid, changed and renewed states.
ACTIONS = ["start", "start", "change", "change", "renew", "renew_declined", "pay", "decline", "cancel", "pause"]
ACTIONS += ["resume", "wait"]
actions = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.sampled_from(ACTIONS),
        st.sampled_from(["free", "pro", "team", "yearly", "trial"]),
        st.integers(1, 40),
    ),
    min_size=4,
    max_size=40,
)


def charge(sub: Subscription, outcome: str, now: datetime) -> None:
    if sub.open_invoice_id is not None and sub.pending_attempt_id is None:
        sub.record_attempt(sub.next_attempt(), outcome, at=now, ladder=LADDER, now=now)


def act(
    sub: Subscription | None, action: str, plan: Plan, catalogue: dict[str, Plan], account: Any, now: datetime
) -> Subscription | None:
    """One command on an account's subscription, paid as the application pays it; a refused one changes nothing."""
    try:
        if action == "start" and (sub is None or not sub.live):
            sub = Subscription.start(
                subscription_id=uuid4(), account_id=account, plan=plan, payment_method="pm_ok", now=now
            )
            charge(sub, SUCCEEDED, now)
        elif sub is None:
            pass
        elif action in ("renew", "renew_declined") and sub.status in ("trialing", "active"):
            by_id = {p.id: p for p in catalogue.values()}
            sub.renew(plan=by_id[sub.renewal_plan_id], now=now)
            charge(sub, SUCCEEDED if action == "renew" else DECLINED, now)
        elif action in ("pay", "decline"):
            charge(sub, SUCCEEDED if action == "pay" else DECLINED, now)
        elif action == "change":
            sub.change_plan(plan, sub.plan_change(plan, now), now=now)
            charge(sub, SUCCEEDED, now)
        elif action == "cancel":
            sub.cancel(at_period_end=False, now=now)
        elif action == "pause":
            sub.pause(now=now)
        elif action == "resume":
            sub.resume(now=now)
    except DomainError:
        pass
    return sub


def batches(events: list[Any], sizes: list[int]) -> Iterator[list[Any]]:
    i = 0
    for size in sizes or [len(events) or 1]:
        yield events[i : i + size]
        i += size
    if i < len(events):
        yield events[i:]


def engine() -> Engine:
    made = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    for table in REVENUE_TABLES:
        table.create(made)
    return made


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions, st.lists(st.integers(1, 7), max_size=20))
def test_revenue_counters_equal_a_recomputation_from_the_subscriptions(
    steps: list[tuple[int, str, str, int]], sizes: list[int]
) -> None:
    catalogue, accounts = plans(), [uuid4() for _ in range(2)]
    live: dict[int, Subscription | None] = {}
    every: list[Subscription] = []
    events: list[Any] = []
    now = START
    for who, action, code, days in steps:
        if action == "wait":
            now += timedelta(days=days)
            continue
        before = live.get(who)
        sub = act(before, action, catalogue[code], catalogue, accounts[who], now)
        if sub is not None and sub is not before:
            every.append(sub)
        live[who] = sub
        if sub is not None:
            events += sub.collect_events()
        now += timedelta(hours=1)

    store, projection = engine(), RevenueProjection()
    for batch in batches(events, sizes):
        with store.begin() as conn:
            view = SqlRevenueView(conn)
            for event in batch:
                projection.process(event, view, {})
            view.flush()

    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    subscribers: dict[tuple[str, str], int] = defaultdict(int)
    for sub in every:
        counted = contribution(sub.status, sub.plan_code, sub.price, sub.interval, sub.currency, CENT, FREE_PLAN_CODE)
        if counted is not None:
            expected[counted.plan_code, counted.currency] += counted.mrr
            subscribers[counted.plan_code, counted.currency] += 1
    with store.connect() as conn:
        stored = {(r.plan_code, r.currency, r.metric): Decimal(r.value) for r in conn.execute(select(revenue_by_plan))}
        m = revenue_movements.c
        moved = conn.execute(select(m.value).where(m.metric == "amount")).scalars().all()
    assert {k[:2]: v for k, v in stored.items() if k[2] == "mrr"} == dict(expected)
    assert {k[:2]: int(v) for k, v in stored.items() if k[2] == "subscribers"} == dict(subscribers)
    assert sum((Decimal(v) for v in moved), Decimal(0)) == sum(expected.values(), Decimal(0))
