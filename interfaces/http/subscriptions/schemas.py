"""Request and response models of the plans, subscriptions and billing routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from interfaces.http.shared.schemas import Page, Strict

PLAN_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
FEATURE_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
LIMIT_NAMES = Literal["requests_per_minute", "trades_per_day", "active_flows", "open_work_orders"]
# A price: at most 12 digits before the point and 4 after (each currency's minor unit is checked by the plan).
Price = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4, examples=["29.00"])]
Limits = Annotated[dict[LIMIT_NAMES, Annotated[int, Field(ge=0, le=10**9)]], Field(max_length=4)]
Features = Annotated[
    list[Annotated[str, Field(max_length=50, pattern=FEATURE_PATTERN)]],
    Field(max_length=50, examples=[["bulk_import"]]),
]
PaymentMethod = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+$", description="The gateway's token, e.g. pm_ok")
]

_PLAN: dict[str, Any] = {
    "id": "0b7c0f0e-4a47-5b1d-9a0e-6f1c5d9e2a31",
    "code": "pro",
    "name": "Pro",
    "price": "29.00",
    "currency": "EUR",
    "interval": "month",
    "trial_days": 14,
    "features": ["bulk_import"],
    "limits": {"requests_per_minute": 1200, "trades_per_day": 500},
    "active": True,
    "created_at": "2026-12-01T08:00:00Z",
    "updated_at": "2026-12-01T08:00:00Z",
    "version": 1,
}

_SUBSCRIPTION_ID = "5d2e7c1a-3b4f-4e6a-8c9d-0e1f2a3b4c5d"
_PENDING: dict[str, Any] = {
    "plan_id": "7a8b9c0d-1e2f-5a3b-8c4d-5e6f7a8b9c0d",
    "plan_code": "basic",
    "effective_at": "2027-01-01T08:00:00Z",
}
_SUBSCRIPTION: dict[str, Any] = {
    "id": _SUBSCRIPTION_ID,
    "status": "active",
    "plan_id": _PLAN["id"],
    "plan_code": "pro",
    "price": "29.00",
    "currency": "EUR",
    "interval": "month",
    "period_start": "2026-12-01T08:00:00Z",
    "period_end": "2027-01-01T08:00:00Z",
    "trial_end": None,
    "has_payment_method": True,
    "cancel_at_period_end": False,
    "pending_change": _PENDING,
    "next_retry_at": None,
    "next_action_at": "2027-01-01T08:00:00Z",
    "paused_at": None,
    "ended_at": None,
    "created_at": "2026-12-01T08:00:00Z",
    "updated_at": "2026-12-03T10:00:00Z",
    "version": 5,
}
_LINES: list[Any] = [
    {"kind": "credit", "description": "Unused time on pro", "amount": "-14.50"},
    {"kind": "charge", "description": "Remaining time on team", "amount": "49.50"},
]
_INVOICE: dict[str, Any] = {
    "id": "9f8e7d6c-5b4a-5c3d-9e2f-1a0b9c8d7e6f",
    "subscription_id": _SUBSCRIPTION_ID,
    "number": "5D2E7C1A3B4F-0002",
    "status": "paid",
    "lines": _LINES,
    "total": "35.00",
    "currency": "EUR",
    "period_start": "2026-12-16T08:00:00Z",
    "period_end": "2027-01-01T08:00:00Z",
    "attempts": 1,
    "last_failure": None,
    "issued_at": "2026-12-16T08:00:00Z",
    "paid_at": "2026-12-16T08:00:01Z",
}
_HISTORY: dict[str, Any] = {
    "subscription_id": _SUBSCRIPTION_ID,
    "version": 3,
    "at": "2026-12-01T08:00:01Z",
    "actor": "c2bb2ab8-d7ab-44f9-8293-ac618ef3fecb",
    "event": "PaymentSucceeded",
    "details": {"invoice_id": _INVOICE["id"], "attempt": 1, "amount": "29.00", "currency": "EUR"},
}
_PLAN_REVENUE: dict[str, Any] = {"plan_code": "pro", "currency": "EUR", "active_subscribers": 300, "mrr": "8700.00"}
_MOVEMENT: dict[str, Any] = {"currency": "EUR", "kind": "churned", "amount": "-58.00", "count": 2}
_CHURN: dict[str, Any] = {
    "window_days": 30,
    "churned_subscribers": 2,
    "new_subscribers": 12,
    "active_subscribers": 300,
    "rate": 0.0068,
}
_WEBHOOK: dict[str, Any] = {
    "id": "evt_1Q2w3e",
    "type": "payment_failed",
    "data": {"attempt_id": "3c4d5e6f-7a8b-5c9d-8e0f-1a2b3c4d5e6f", "reason": "insufficient_funds"},
}


# --- requests -------------------------------------------------------------------------


class PlanCreate(Strict):
    """A new plan; its code is unique in any case."""

    model_config = ConfigDict(json_schema_extra={"examples": [{k: _PLAN[k] for k in list(_PLAN)[1:9]}]})

    code: str = Field(max_length=40, pattern=PLAN_CODE_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    price: Price
    currency: str = Field(max_length=3, pattern=CURRENCY_PATTERN)
    interval: Literal["month", "year"]
    trial_days: int = Field(default=0, ge=0, le=365)
    features: Features = []
    limits: Limits = {}


class PlanPriceChange(Strict):
    """The plan's new price: new subscriptions pay it at once, existing ones from their next renewal."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"price": "39.00"}]})

    price: Price


class PlanLimitsChange(Strict):
    """The plan's limits and features, replacing the ones it had (they apply to its subscribers at once)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"limits": {"requests_per_minute": 1200, "trades_per_day": 500}, "features": ["bulk_import"]}]
        }
    )

    limits: Limits
    features: Features


class SubscribeBody(Strict):
    """Subscribe to a plan (when the account has no live subscription); a paid plan needs a payment method."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"plan": "pro", "payment_method": "pm_ok"}]})

    plan: str = Field(max_length=40, pattern=PLAN_CODE_PATTERN, examples=["pro"])
    payment_method: PaymentMethod | None = None


class PlanChangeBody(Strict):
    """Move to another plan: an upgrade at once with proration, a downgrade at the end of the period."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"plan": "team"}]})

    plan: str = Field(max_length=40, pattern=PLAN_CODE_PATTERN, examples=["team"])


class CancelBody(Strict):
    """Cancel now, or at the end of the current period (which can be taken back until then)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"at_period_end": True}]})

    at_period_end: bool = True


class PaymentMethodBody(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"payment_method": "pm_ok"}]})

    payment_method: PaymentMethod


# --- answers --------------------------------------------------------------------------


class PlanPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PLAN]})

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


class PendingChange(BaseModel):
    """A downgrade scheduled for the end of the period."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PENDING]})

    plan_id: UUID
    plan_code: str
    effective_at: datetime | None


class SubscriptionPublic(BaseModel):
    """The caller's subscription: status, plan, period, what is pending, and when it is looked at next."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUBSCRIPTION]})

    id: UUID
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
    pending_change: PendingChange | None
    next_retry_at: datetime | None
    next_action_at: datetime | None
    paused_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: Any) -> SubscriptionPublic:
        pending = None
        if row["pending_plan_id"] is not None:
            pending = PendingChange(
                plan_id=row["pending_plan_id"],
                plan_code=row["pending_plan_code"],
                effective_at=row["pending_effective_at"],
            )
        return cls.model_validate({**row, "pending_change": pending})


class HistoryEntry(BaseModel):
    """One event of a subscription: when, who, the event's name and its fields."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HISTORY]})

    subscription_id: UUID
    version: int
    at: datetime
    actor: str | None
    event: str
    details: dict[str, Any]


class InvoiceLine(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_LINES[0]]})

    kind: str = Field(description="plan, credit (never positive) or charge (never negative)")
    description: str
    amount: Decimal


class InvoicePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_INVOICE]})

    id: UUID
    subscription_id: UUID
    number: str
    status: str = Field(description="open (unpaid yet; see attempts, last_failure), paid, or uncollectible (ended)")
    lines: list[InvoiceLine]
    total: Decimal
    currency: str
    period_start: datetime
    period_end: datetime
    attempts: int
    last_failure: str | None
    issued_at: datetime
    paid_at: datetime | None


HistoryPage = Page[HistoryEntry]
InvoicePage = Page[InvoicePublic]


class PlanChangePreview(BaseModel):
    """What changing to ``plan`` now would invoice: the proration lines and their total. No lines: nothing is
    charged now (a downgrade, which waits for the period end, or a change during a trial)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"plan": "team", "lines": _LINES, "total": "35.00", "currency": "EUR"}]}
    )

    plan: str
    lines: list[InvoiceLine]
    total: Decimal
    currency: str


class PlanRevenue(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PLAN_REVENUE]})

    plan_code: str
    currency: str
    active_subscribers: int
    mrr: Decimal


class MovementTotal(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MOVEMENT]})

    currency: str
    kind: Literal["new", "expansion", "contraction", "churned", "reactivation"]
    amount: Decimal = Field(description="Signed: churned and contraction are negative")
    count: int


class Churn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CHURN]})

    window_days: int
    churned_subscribers: int
    new_subscribers: int = Field(description="New and reactivated subscribers in the window")
    active_subscribers: int
    rate: float | None = Field(description="Churned / subscribers at the window's start; None without any")


class RevenueView(BaseModel):
    """MRR by Stripe's rules (active and past_due paid subscriptions, monthly-normalised; trials, free and
    ended ones excluded), its movements and subscriber churn over the last 30 days."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by_plan": [_PLAN_REVENUE],
                    "mrr_by_currency": {"EUR": "8700.00"},
                    "movements": [_MOVEMENT],
                    "churn": _CHURN,
                }
            ]
        }
    )

    by_plan: list[PlanRevenue]
    mrr_by_currency: dict[str, Decimal]
    movements: list[MovementTotal]
    churn: Churn


class WebhookData(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK["data"]]})

    attempt_id: UUID
    reason: str | None = Field(default=None, max_length=200, examples=["insufficient_funds"])


class WebhookEvent(Strict):
    """A payment provider's event: its own id (a replay of it changes nothing), its type and the attempt."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK]})

    id: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:-]+$")
    type: Literal["payment_succeeded", "payment_failed"]
    data: WebhookData


class WebhookAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_id": "evt_1Q2w3e", "applied": True, "changed": True, "position": 1290}]}
    )

    event_id: str
    applied: bool = Field(description="False when this event id was applied before (a replay: nothing written)")
    changed: bool = Field(description="Whether the subscription changed (False: the attempt was settled already)")
    position: int | None = None
