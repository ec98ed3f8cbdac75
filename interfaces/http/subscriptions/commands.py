"""Commands on plans (admins) and on the caller's own subscription (every user, never another's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from application.subscriptions.application import SubscriptionsApplication
from domain.subscriptions.permissions import PLANS_MANAGE, SUBSCRIPTION_OWN
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Cmd
from interfaces.http.shared.schemas import CommandAccepted
from interfaces.http.shared.services import provide
from interfaces.http.subscriptions.schemas import (
    PLAN_CODE_PATTERN,
    CancelBody,
    PaymentMethodBody,
    PlanChangeBody,
    PlanCreate,
    PlanLimitsChange,
    PlanPriceChange,
    SubscribeBody,
)

router = APIRouter(tags=["subscriptions: commands"])

Subscriptions = Annotated[SubscriptionsApplication, provide(SubscriptionsApplication)]
PlanAdmin = Annotated[Principal, Depends(require(PLANS_MANAGE))]
Member = Annotated[Principal, Depends(require(SUBSCRIPTION_OWN))]
PlanCode = Annotated[str, Path(max_length=40, pattern=PLAN_CODE_PATTERN, description="The plan's code, any case")]
ME = "/api/v1/subscriptions/me"


@router.post("/api/v1/plans", status_code=status.HTTP_201_CREATED)
def create_plan(body: PlanCreate, cmd: Cmd, app: Subscriptions, _: PlanAdmin) -> CommandAccepted:
    """Create a plan; its code is new in any case."""
    return cmd.accepted(app.create_plan(cmd.ctx, **body.model_dump()))


@router.post("/api/v1/plans/{code}/price")
def change_plan_price(
    code: PlanCode, body: PlanPriceChange, cmd: Cmd, app: Subscriptions, _: PlanAdmin
) -> CommandAccepted:
    """Change a plan's price: new subscriptions pay it now, existing ones from their next renewal."""
    return cmd.accepted(app.change_plan_price(cmd.ctx, code, body.price, expected_version=cmd.expected_version))


@router.post("/api/v1/plans/{code}/limits")
def change_plan_limits(
    code: PlanCode, body: PlanLimitsChange, cmd: Cmd, app: Subscriptions, _: PlanAdmin
) -> CommandAccepted:
    """Replace a plan's limits and features; its subscribers have them within seconds."""
    result = app.change_plan_limits(
        cmd.ctx,
        code,
        limits={str(name): value for name, value in body.limits.items()},
        features=body.features,
        expected_version=cmd.expected_version,
    )
    return cmd.accepted(result)


@router.post("/api/v1/plans/{code}/retire")
def retire_plan(code: PlanCode, cmd: Cmd, app: Subscriptions, _: PlanAdmin) -> CommandAccepted:
    """Retire a plan: no new subscriptions; existing ones run on."""
    return cmd.accepted(app.retire_plan(cmd.ctx, code, expected_version=cmd.expected_version))


@router.post(ME, status_code=status.HTTP_201_CREATED)
def subscribe(body: SubscribeBody, cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Subscribe to a plan when you have no live subscription (a paid plan is charged at once)."""
    return cmd.accepted(app.subscribe(cmd.ctx, member.account_id, body.plan, body.payment_method))


@router.post(f"{ME}/plan")
def change_plan(body: PlanChangeBody, cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Change plan: an upgrade now, prorated and charged; a downgrade at the end of the period."""
    return cmd.accepted(app.change_subscription_plan(cmd.ctx, member.account_id, body.plan))


@router.post(f"{ME}/cancel")
def cancel(body: CancelBody, cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Cancel now, or at the end of the period (revocable until then)."""
    return cmd.accepted(app.cancel_subscription(cmd.ctx, member.account_id, body.at_period_end))


@router.post(f"{ME}/revoke-cancellation")
def revoke_cancellation(cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Take back a cancellation scheduled for the end of the period."""
    return cmd.accepted(app.revoke_cancellation(cmd.ctx, member.account_id))


@router.post(f"{ME}/pause")
def pause(cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Pause an active subscription (its remaining time is kept for the resume)."""
    return cmd.accepted(app.pause_subscription(cmd.ctx, member.account_id))


@router.post(f"{ME}/resume")
def resume(cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Resume a paused subscription; the period moves by the length of the pause."""
    return cmd.accepted(app.resume_subscription(cmd.ctx, member.account_id))


@router.post(f"{ME}/payment-method")
def update_payment_method(body: PaymentMethodBody, cmd: Cmd, app: Subscriptions, member: Member) -> CommandAccepted:
    """Set a new payment method; an invoice left open by a failed payment is charged with it at once."""
    return cmd.accepted(app.update_payment_method(cmd.ctx, member.account_id, body.payment_method))
