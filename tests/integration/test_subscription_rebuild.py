"""Rebuilding the subscriptions read models from the log gives exactly the live rows, and the revenue counters
equal a recomputation from the subscription rows (Stripe's rules), live and rebuilt."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.subscriptions.plan import FREE_PLAN_CODE
from domain.subscriptions.proration import minor_unit
from infrastructure.root import Chronicle
from infrastructure.subscriptions.tables import (
    HISTORY_TABLES,
    PLAN_TABLES,
    REVENUE_TABLES,
    SUBSCRIPTION_TABLES,
    revenue_by_plan,
    subscriptions,
)
from projections.subscriptions.mrr import contribution
from tests.conftest import Clock
from tests.integration.conftest import context, register, table_rows

NAMES = ("plans", "subscriptions", "subscription_history", "subscription_revenue")


def advance(container: Chronicle, clock: Clock, account: UUID) -> tuple[str, ...]:
    app = container.subscriptions
    subscription_id = app.subscription_id_of(account)
    assert subscription_id is not None
    return app.advance(context(clock), subscription_id, clock()).actions


def billing_history(container: Chronicle, clock: Clock) -> None:
    """Upgrades, renewals, a price rise, a trial, an expiry, a pause, a comeback, dunning and a webhook."""
    app = container.subscriptions
    app.ensure_free_plan(context(clock))
    plan = {"currency": "USD", "interval": "month", "features": ["bulk_import"]}
    app.create_plan(context(clock), code="pro", name="Pro", price=Decimal("30.00"), **plan)
    app.create_plan(context(clock), code="team", name="Team", price=Decimal("90.00"), **plan)
    app.create_plan(
        context(clock),
        code="annual",
        name="Annual",
        price=Decimal("300.00"),
        currency="USD",
        interval="year",
        trial_days=7,
    )
    a, b, c, d, e, f = (register(container, clock, f"{n}@example.com") for n in "abcdef")
    for account in (a, d, f):
        app.subscribe(context(clock), account, FREE_PLAN_CODE)
        app.update_payment_method(context(clock), account, "pm_ok")
        app.change_subscription_plan(context(clock), account, "pro")
    app.subscribe(context(clock), b, "annual")
    app.subscribe(context(clock), c, "pro", "pm_declined")
    app.subscribe(context(clock), e, "pro", "pm_pending")
    pending = next(charge for charge in app.gateway.charges(e))  # type: ignore[attr-defined]
    app.apply_gateway_event(context(clock), "offline", "evt_1", "payment_succeeded", pending.attempt_id)
    app.apply_gateway_event(context(clock), "offline", "evt_1", "payment_succeeded", pending.attempt_id)  # replay

    clock.advance(days=3)
    app.change_subscription_plan(context(clock), a, "team")  # an upgrade, prorated
    app.change_subscription_plan(context(clock), a, "pro")  # a downgrade, at the period end
    app.pause_subscription(context(clock), d)
    app.update_payment_method(context(clock), b, "pm_ok")
    app.update_payment_method(context(clock), f, "pm_declined")
    clock.advance(days=5)
    app.resume_subscription(context(clock), d)
    advance(container, clock, b)  # the trial ends: the first year is charged
    app.change_plan_price(context(clock), "pro", Decimal("35.00"))
    clock.advance(days=1)
    advance(container, clock, c)  # incomplete for longer than its window: expired
    app.subscribe(context(clock), c, "pro", "pm_ok")
    app.cancel_subscription(context(clock), d, at_period_end=False)
    app.subscribe(context(clock), d, "team", "pm_ok")  # a comeback: reactivation
    clock.advance(days=30)
    for account in (a, f):
        advance(container, clock, account)  # a renews on pro (the downgrade) at its new price; f is declined
    app.cancel_subscription(context(clock), c, at_period_end=True)
    for _ in range(3):
        clock.advance(days=2)
        advance(container, clock, f)


def rows(container: Chronicle) -> dict[str, list[tuple[Any, ...]]]:
    tables = (*PLAN_TABLES, *SUBSCRIPTION_TABLES, *HISTORY_TABLES, *REVENUE_TABLES)
    return {table.name: table_rows(container, table) for table in tables}


def mrr_recomputed_from_rows(container: Chronicle) -> dict[tuple[str, str], Decimal]:
    """MRR by plan from the subscription rows alone (not the counters)."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with container.read_engine.connect() as conn:
        for row in conn.execute(subscriptions.select()):
            quantum = Decimal(1).scaleb(-minor_unit(row.currency))
            counted = contribution(
                row.status, row.plan_code, row.price, row.interval, row.currency, quantum, FREE_PLAN_CODE
            )
            if counted is not None:
                totals[counted.plan_code, counted.currency] += counted.mrr
    return dict(totals)


def mrr_counters(container: Chronicle) -> dict[tuple[str, str], Decimal]:
    with container.read_engine.connect() as conn:
        c = revenue_by_plan.c
        query = revenue_by_plan.select().where(c.metric == "mrr")
        return {(row.plan_code, row.currency): Decimal(row.value) for row in conn.execute(query)}


def test_given_a_billing_history_when_its_projections_are_replayed_then_every_row_is_the_same(
    container: Chronicle, clock: Clock
) -> None:
    billing_history(container, clock)
    runners = [container.runners[name] for name in NAMES]
    for runner in runners:
        runner.batch_size = 3  # live: small batches, rows changed again and again across batches
        runner.catch_up()
        runner.batch_size = 2000
    live = rows(container)
    statuses = {row.status for row in _subscription_rows(container)}
    assert {"active", "unpaid", "expired", "canceled"} <= statuses
    assert len(live["rm_invoices"]) >= 8
    assert mrr_counters(container) == mrr_recomputed_from_rows(container) != {}
    figures = container.subscription_queries.revenue(clock().date())

    for runner in runners:  # rebuilt: the whole log in one batch
        runner.reset()
    assert all(not table for table in rows(container).values())
    for runner in runners:
        runner.catch_up()

    assert rows(container) == live
    assert container.subscription_queries.revenue(clock().date()) == figures
    kinds = {
        m["kind"] for m in container.subscription_queries.revenue((clock() - timedelta(days=20)).date())["movements"]
    }
    assert {"new", "expansion", "reactivation", "churned"} <= kinds


def _subscription_rows(container: Chronicle) -> list[Any]:
    with container.read_engine.connect() as conn:
        return list(conn.execute(subscriptions.select()))
