"""Queries on plans and subscriptions: the public plan list, the caller's own subscription (with its history,
invoices and a plan-change preview), and the revenue view for billing."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from application.subscriptions.application import SubscriptionsApplication
from domain.subscriptions.errors import SubscriptionNotFound
from domain.subscriptions.permissions import BILLING_READ, SUBSCRIPTION_OWN
from domain.subscriptions.proration import to_minor_unit
from infrastructure.subscriptions.queries import SubscriptionQueries
from interfaces.http.shared.auth import Principal, Public, require
from interfaces.http.shared.commands import Now
from interfaces.http.shared.queries import Paging, waits_for
from interfaces.http.shared.schemas import page_of
from interfaces.http.shared.services import provide
from interfaces.http.subscriptions.schemas import (
    PLAN_CODE_PATTERN,
    HistoryPage,
    InvoiceLine,
    InvoicePage,
    PlanChangePreview,
    PlanPublic,
    RevenueView,
    SubscriptionPublic,
)

router = APIRouter(tags=["subscriptions: queries"])

Queries = Annotated[SubscriptionQueries, provide(SubscriptionQueries)]
Subscriptions = Annotated[SubscriptionsApplication, provide(SubscriptionsApplication)]
Member = Annotated[Principal, Depends(require(SUBSCRIPTION_OWN))]
Billing = Annotated[Principal, Depends(require(BILLING_READ))]


@router.get("/api/v1/plans", dependencies=[Public])
def list_plans(queries: Queries) -> list[PlanPublic]:
    """The plans open to new subscribers, cheapest first (public; a plan just created shows within moments)."""
    return [PlanPublic.model_validate(row) for row in queries.plans(active_only=True)]


@router.get("/api/v1/subscriptions/me", dependencies=[waits_for("subscriptions")])
def my_subscription(member: Member, queries: Queries, response: Response) -> SubscriptionPublic:
    """Your subscription (the live one, else the latest): status, plan, period, pending change; version as ETag."""
    row = queries.of_account(member.account_id)
    if row is None:
        raise SubscriptionNotFound("You have no subscription yet (if you just registered, pass min_position)")
    response.headers["ETag"] = f'"{row["version"]}"'
    return SubscriptionPublic.of(row)


@router.get("/api/v1/subscriptions/me/history", dependencies=[waits_for("subscription_history")])
def my_history(member: Member, queries: Queries, paging: Paging) -> HistoryPage:
    """Every event of your subscriptions, newest first."""
    limit, offset = paging
    return HistoryPage.model_validate(page_of(queries.history(member.account_id, limit=limit, offset=offset)))


@router.get("/api/v1/subscriptions/me/invoices", dependencies=[waits_for("subscriptions")])
def my_invoices(member: Member, queries: Queries, paging: Paging) -> InvoicePage:
    """Your invoices (number, lines, total, status), newest first."""
    limit, offset = paging
    return InvoicePage.model_validate(page_of(queries.invoices(member.account_id, limit=limit, offset=offset)))


@router.get("/api/v1/subscriptions/me/plan-change-preview")
def plan_change_preview(
    member: Member,
    app: Subscriptions,
    clock: Now,
    plan: Annotated[str, Query(max_length=40, pattern=PLAN_CODE_PATTERN, description="The plan to change to")],
) -> PlanChangePreview:
    """What changing to ``plan`` now would invoice (the proration lines), without changing anything."""
    target = app.plan(plan)
    lines = app.preview_plan_change(member.account_id, plan, clock())
    total = to_minor_unit(sum((line.amount for line in lines), Decimal(0)), target.currency)
    return PlanChangePreview(
        plan=target.code,
        lines=[InvoiceLine(kind=line.kind, description=line.description, amount=line.amount) for line in lines],
        total=total,
        currency=target.currency,
    )


@router.get("/api/v1/billing/revenue", dependencies=[waits_for("subscription_revenue")])
def revenue(_: Billing, queries: Queries, clock: Now) -> RevenueView:
    """Active subscribers and MRR by plan, MRR movements and subscriber churn over the last 30 days."""
    return RevenueView.model_validate(queries.revenue(clock().date()))
