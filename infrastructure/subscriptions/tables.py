"""The subscriptions read models' tables: plans, subscriptions with their history and invoices, revenue counters."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, Numeric, String, Table
from sqlalchemy import Uuid as SqlUuid

from infrastructure.shared.readstore import UtcDateTime, metadata

# Money: exact, four places (prices are stored at their currency's minor unit; monthly values of yearly plans
# are rounded to it too, so four places hold every currency the gateways know).
MONEY = Numeric(20, 4)

plans = Table(
    "rm_plans",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("code", String(64), nullable=False),
    Column("code_key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("price", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("trial_days", Integer, nullable=False),
    Column("features", JSON, nullable=False),
    Column("limits", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

subscriptions = Table(
    "rm_subscriptions",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("account_id", SqlUuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("live", Boolean, nullable=False),
    Column("plan_id", SqlUuid, nullable=False),
    Column("plan_code", String(64), nullable=False),
    Column("price", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("trial_end", UtcDateTime),
    Column("has_payment_method", Boolean, nullable=False),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("pending_plan_id", SqlUuid),
    Column("pending_plan_code", String(64)),
    Column("pending_effective_at", UtcDateTime),
    Column("next_retry_at", UtcDateTime),
    # What next_action_at is computed from besides the period: the open invoice and its attempts so far.
    Column("open_invoice_id", SqlUuid),
    Column("attempts", Integer, nullable=False),
    Column("next_action_at", UtcDateTime),
    Column("paused_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_subscriptions_account", "account_id", "live"),
    # The jobs' sweep: live subscriptions by when they are due.
    Index("ix_rm_subscriptions_due", "live", "next_action_at"),
)

subscription_history = Table(
    "rm_subscription_history",
    metadata,
    Column("subscription_id", SqlUuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("account_id", SqlUuid, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64)),
    Column("event", String(64), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_rm_subscription_history_account", "account_id", "at"),
)

invoices = Table(
    "rm_invoices",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("subscription_id", SqlUuid, nullable=False),
    Column("account_id", SqlUuid, nullable=False),
    Column("number", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("total", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_failure", String(200)),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("paid_at", UtcDateTime),
    Index("ix_rm_invoices_account", "account_id", "issued_at"),
)

# Revenue: what each subscription adds to MRR now (so an event can move the counters by the difference),
# which accounts ever paid (a comeback is a reactivation, not new business), and the counters themselves.
revenue_subscriptions = Table(
    "rm_revenue_subscriptions",
    metadata,
    Column("subscription_id", SqlUuid, primary_key=True),
    Column("account_id", SqlUuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("plan_code", String(64), nullable=False),
    Column("price", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("mrr", MONEY, nullable=False),
)

revenue_customers = Table(
    "rm_revenue_customers",
    metadata,
    Column("account_id", SqlUuid, primary_key=True),
    Column("first_paid_on", Date, nullable=False),
)

# Active (MRR-counted) subscribers and MRR per plan and currency: metric "subscribers" or "mrr".
revenue_by_plan = Table(
    "rm_revenue_by_plan",
    metadata,
    Column("plan_code", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("metric", String(16), primary_key=True),
    Column("value", MONEY, nullable=False),
)

# MRR movements per day: kind new, expansion, contraction, churned, reactivation; metric "amount" or "count".
revenue_movements = Table(
    "rm_revenue_movements",
    metadata,
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("metric", String(8), primary_key=True),
    Column("value", MONEY, nullable=False),
)

PLAN_TABLES = (plans,)
SUBSCRIPTION_TABLES = (subscriptions, invoices)
HISTORY_TABLES = (subscription_history,)
REVENUE_TABLES = (revenue_subscriptions, revenue_customers, revenue_by_plan, revenue_movements)
