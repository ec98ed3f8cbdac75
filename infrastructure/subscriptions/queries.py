"""Queries on the subscriptions read models (published to the other contexts: ``limits_for``, ``due``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict, cast
from uuid import UUID

from sqlalchemy import Engine, func, select

from application.shared.ports import PlanEntitlements
from domain.subscriptions.proration import to_minor_unit
from infrastructure.shared.readstore import Page, fetch_page, one_snapshot
from infrastructure.subscriptions.tables import (
    invoices,
    plans,
    revenue_by_plan,
    revenue_movements,
    subscription_history,
    subscriptions,
)
from projections.subscriptions.mrr import ARRIVALS, Movement, churn_rate

# Statuses under which an account has its plan's limits and features; every other status (unpaid,
# incomplete before its first payment, paused) and no subscription at all get the free plan's.
ENTITLED_STATUSES = frozenset({"trialing", "active", "past_due"})
CHURN_WINDOW_DAYS = 30
SUBSCRIBERS, MRR = "subscribers", "mrr"
AMOUNT, COUNT = "amount", "count"


class PlanRow(TypedDict):
    id: UUID
    code: str
    name: str
    price: Decimal
    currency: str
    interval: str
    trial_days: int
    features: list[str]
    limits: dict[str, int]
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class SubscriptionRow(TypedDict):
    id: UUID
    account_id: UUID
    status: str
    plan_id: UUID
    plan_code: str
    price: Decimal
    currency: str
    interval: str
    period_start: datetime
    period_end: datetime
    trial_end: datetime | None
    has_payment_method: bool
    cancel_at_period_end: bool
    pending_plan_id: UUID | None
    pending_plan_code: str | None
    pending_effective_at: datetime | None
    next_retry_at: datetime | None
    next_action_at: datetime | None
    paused_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class HistoryRow(TypedDict):
    subscription_id: UUID
    version: int
    at: datetime
    actor: str | None
    event: str
    details: dict[str, Any]


class InvoiceRow(TypedDict):
    id: UUID
    subscription_id: UUID
    number: str
    status: str
    lines: list[dict[str, str]]
    total: Decimal
    currency: str
    period_start: datetime
    period_end: datetime
    attempts: int
    last_failure: str | None
    issued_at: datetime
    paid_at: datetime | None


class PlanRevenue(TypedDict):
    plan_code: str
    currency: str
    active_subscribers: int
    mrr: Decimal


class MovementTotal(TypedDict):
    currency: str
    kind: str
    amount: Decimal
    count: int


class Churn(TypedDict):
    window_days: int
    churned_subscribers: int
    new_subscribers: int
    active_subscribers: int
    rate: float | None


class Revenue(TypedDict):
    by_plan: list[PlanRevenue]
    mrr_by_currency: dict[str, Decimal]
    movements: list[MovementTotal]
    churn: Churn


_SUBSCRIPTION_COLUMNS = [c for c in subscriptions.c if c.name not in {"live", "open_invoice_id", "attempts"}]
_INVOICE_COLUMNS = [c for c in invoices.c if c.name != "account_id"]
_HISTORY_COLUMNS = [c for c in subscription_history.c if c.name != "account_id"]


def _priced(row: Any, *names: str) -> dict[str, Any]:
    """The row with its money at the currency's minor unit (the store keeps four places for every currency)."""
    values = dict(row)
    for name in names:
        values[name] = to_minor_unit(values[name], values["currency"])
    return values


class SubscriptionQueries:
    """Reads the subscriptions read models; ``free`` is what an account gets when its plan gives it nothing."""

    def __init__(self, engine: Engine, free_plan_code: str, free_fallback: PlanEntitlements) -> None:
        self.engine = engine
        self.free_plan_code = free_plan_code
        # Until the plans read model knows the free plan (a store's first seconds): its limits from settings.
        self.free_fallback = free_fallback

    def plans(self, active_only: bool = True) -> list[PlanRow]:
        query = select(plans).where(plans.c.active) if active_only else select(plans)
        columns = [c for c in plans.c if c.name != "code_key"]
        with self.engine.connect() as conn:
            rows = conn.execute(query.with_only_columns(*columns).order_by(plans.c.price, plans.c.code_key))
            return [cast(PlanRow, _priced(row, "price")) for row in rows.mappings()]

    def plan(self, code: str) -> PlanRow | None:
        columns = [c for c in plans.c if c.name != "code_key"]
        with self.engine.connect() as conn:
            row = conn.execute(select(*columns).where(plans.c.code_key == code.casefold())).mappings().first()
        return cast(PlanRow, _priced(row, "price")) if row is not None else None

    def of_account(self, account_id: UUID) -> SubscriptionRow | None:
        """The account's live subscription, else its latest ended one, else None."""
        c = subscriptions.c
        query = (
            select(*_SUBSCRIPTION_COLUMNS)
            .where(c.account_id == account_id)
            .order_by(c.live.desc(), c.created_at.desc(), c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return cast(SubscriptionRow, _priced(row, "price")) if row is not None else None

    def history(self, account_id: UUID, *, limit: int, offset: int) -> Page[HistoryRow]:
        """Every event of the account's subscriptions, newest first."""
        h = subscription_history.c
        query = select(*_HISTORY_COLUMNS).where(h.account_id == account_id)
        return fetch_page(self.engine, query, [h.at.desc(), h.version.desc()], limit, offset, HistoryRow)

    def invoices(self, account_id: UUID, *, limit: int, offset: int) -> Page[InvoiceRow]:
        i = invoices.c
        query = select(*_INVOICE_COLUMNS).where(i.account_id == account_id)
        page = fetch_page(self.engine, query, [i.issued_at.desc(), i.id], limit, offset, InvoiceRow)
        items = [cast(InvoiceRow, _priced(row, "total")) for row in page.items]
        return Page(items=items, total=page.total, limit=page.limit, offset=page.offset)

    def due(self, as_of: datetime, limit: int) -> list[UUID]:
        """Live subscriptions whose next action is due at ``as_of``, the longest due first (the jobs' sweep)."""
        c = subscriptions.c
        query = select(c.id).where(c.live, c.next_action_at <= as_of).order_by(c.next_action_at, c.id).limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def limits_for(self, account_id: UUID) -> PlanEntitlements:
        """The limits and features the account has right now (the ``Entitlements`` port)."""
        s, p = subscriptions.c, plans.c
        query = (
            select(s.status, p.code, p.limits, p.features)
            .join_from(subscriptions, plans, p.id == s.plan_id)
            .where(s.account_id == account_id, s.live)
            .limit(1)
        )
        with self.engine.connect() as conn:
            live = conn.execute(query).first()
            if live is not None and live.status in ENTITLED_STATUSES:
                return PlanEntitlements(live.code, dict(live.limits), frozenset(live.features))
            free = conn.execute(select(p.code, p.limits, p.features).where(p.code_key == self.free_plan_code)).first()
        if free is None:
            return self.free_fallback
        return PlanEntitlements(free.code, dict(free.limits), frozenset(free.features))

    def revenue(self, today: date) -> Revenue:
        """Active subscribers and MRR by plan, the MRR movements and subscriber churn of the last 30 days:
        read from the counters the revenue projection keeps (a few rows per plan and per day, no scan)."""
        since = today - timedelta(days=CHURN_WINDOW_DAYS - 1)
        m = revenue_movements.c
        movement_sums = (
            select(m.currency, m.kind, m.metric, func.sum(m.value))
            .where(m.day >= since)
            .group_by(m.currency, m.kind, m.metric)
        )
        with one_snapshot(self.engine) as conn:  # the plans' figures and the movements of the same batches
            plan_rows = conn.execute(select(revenue_by_plan)).all()
            moved = conn.execute(movement_sums).all()
        by_plan: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        for row in plan_rows:
            by_plan[row.plan_code, row.currency][row.metric] = row.value
        plans_out = [
            PlanRevenue(
                plan_code=plan_code,
                currency=currency,
                active_subscribers=int(values.get(SUBSCRIBERS, 0)),
                mrr=to_minor_unit(values.get(MRR, Decimal(0)), currency),
            )
            for (plan_code, currency), values in sorted(by_plan.items())
        ]
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for plan in plans_out:
            totals[plan["currency"]] += plan["mrr"]
        sums: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
        for currency, kind, metric, total in moved:
            sums[currency, kind][metric] = Decimal(total)
        movements = [
            MovementTotal(
                currency=currency,
                kind=kind,
                amount=to_minor_unit(values.get(AMOUNT, Decimal(0)), currency),
                count=int(values.get(COUNT, 0)),
            )
            for (currency, kind), values in sorted(sums.items())
        ]
        churned = sum(x["count"] for x in movements if x["kind"] == Movement.CHURNED)
        arrived = sum(x["count"] for x in movements if x["kind"] in ARRIVALS)
        active = sum(plan["active_subscribers"] for plan in plans_out)
        churn = Churn(
            window_days=CHURN_WINDOW_DAYS,
            churned_subscribers=churned,
            new_subscribers=arrived,
            active_subscribers=active,
            rate=churn_rate(churned, active, arrived),
        )
        return Revenue(
            by_plan=plans_out, mrr_by_currency=dict(sorted(totals.items())), movements=movements, churn=churn
        )
