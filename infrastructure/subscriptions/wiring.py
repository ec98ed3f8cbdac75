"""Wiring of the Subscriptions context: its application, the payment gateway, the free-plan policy, and its
read models (plans, subscriptions with invoices, history, revenue) with the queries other contexts read."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from application.shared.commands import CommandContext
from application.shared.ports import Entitlements, PlanEntitlements
from application.subscriptions.application import FreePlanConfig, SubscriptionsApplication
from application.subscriptions.closed_accounts_policy import ClosedAccountsPolicy
from application.subscriptions.free_plan_policy import FreePlanPolicy
from application.subscriptions.ports import DunningLadder, PaymentGateway
from domain.subscriptions.plan import FREE_PLAN_CODE
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from infrastructure.subscriptions.gateway import SqlOfflineGateway
from infrastructure.subscriptions.jobs import add_subscription_jobs
from infrastructure.subscriptions.queries import SubscriptionQueries
from infrastructure.subscriptions.signatures import WebhookSecrets
from infrastructure.subscriptions.tables import HISTORY_TABLES, PLAN_TABLES, REVENUE_TABLES, SUBSCRIPTION_TABLES
from infrastructure.subscriptions.writer import SqlHistoryView, SqlPlansView, SqlRevenueView, SqlSubscriptionsView
from projections.subscriptions.history import SubscriptionHistoryProjection
from projections.subscriptions.plans import PlansProjection
from projections.subscriptions.revenue import RevenueProjection
from projections.subscriptions.subscriptions import SubscriptionsProjection


@dataclass
class Subscriptions:
    """The Subscriptions context, wired."""

    app: SubscriptionsApplication
    gateway: PaymentGateway
    queries: SubscriptionQueries
    webhooks: WebhookSecrets
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {
            SubscriptionsApplication: self.app,
            PaymentGateway: self.gateway,
            SubscriptionQueries: self.queries,
            Entitlements: self.queries,
            WebhookSecrets: self.webhooks,
        }

    def start(self, platform: Platform) -> None:
        """Make sure the free plan exists (created once; a plan the admins changed is kept)."""
        self.app.ensure_free_plan(CommandContext.system("bootstrap", platform.clock()))


def wire_subscriptions(
    platform: Platform,
    *,
    gateway: PaymentGateway | None = None,
    new_account_events: Iterable[type[Any]] = (),
    closed_account_events: Iterable[type[Any]] = (),
) -> Subscriptions:
    """``new_account_events`` / ``closed_account_events``: the accounts context's registration and closing
    event(s), named by the composition root."""
    settings = platform.settings
    gateway = gateway or SqlOfflineGateway(platform.read_engine)
    app = SubscriptionsApplication(
        gateway,
        DunningLadder(settings.dunning_days(), settings.dunning_final_status),
        FreePlanConfig(
            name=settings.free_plan_name, currency=settings.free_plan_currency, limits=settings.free_plan_limits()
        ),
        platform.env,
        shares_log_with=platform.log,
        locks=platform.stream_locks,
    )
    platform.joins_log(app)
    free = PlanEntitlements(FREE_PLAN_CODE, settings.free_plan_limits())
    queries = SubscriptionQueries(platform.query_engine, FREE_PLAN_CODE, free)
    # The sweep of due subscriptions and the advance task (Celery, or the API process's timer).
    add_subscription_jobs(
        platform.jobs, app, queries, interval_seconds=settings.billing_sweep_seconds, limit=settings.billing_sweep_limit
    )
    followers = (
        Follower(FreePlanPolicy(app, new_account_events)),
        Follower(ClosedAccountsPolicy(app, closed_account_events)),
        Follower(PlansProjection(), SqlPlansView, PLAN_TABLES),
        Follower(SubscriptionsProjection(), SqlSubscriptionsView, SUBSCRIPTION_TABLES),
        Follower(SubscriptionHistoryProjection(), SqlHistoryView, HISTORY_TABLES),
        Follower(RevenueProjection(), SqlRevenueView, REVENUE_TABLES),
    )
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    providers = frozenset({settings.payment_gateway})
    webhooks = WebhookSecrets(secret, settings.webhook_tolerance_seconds, providers, time.time)
    return Subscriptions(app, gateway, queries, webhooks, followers)
