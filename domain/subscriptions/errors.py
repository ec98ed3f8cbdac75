"""The Subscriptions context's named errors: a move the lifecycle does not allow is a conflict (409)."""

from __future__ import annotations

from typing import Any

from domain.shared.errors import Category, DomainError, NotFound


class InvalidPlan(DomainError):
    code = "invalid_plan"
    title = "The plan is not valid"
    category = Category.INVALID


class PlanCodeTaken(DomainError):
    code = "plan_code_taken"
    title = "A plan with this code already exists (codes are compared in any case)"


class PlanNotFound(NotFound):
    code = "plan_not_found"
    title = "No such plan"


class PlanRetired(DomainError):
    code = "plan_retired"
    title = "The plan is retired: it takes no new subscriptions and no further change"


class FreePlanNotRetirable(DomainError):
    code = "free_plan_not_retirable"
    title = "The free plan cannot be retired: every account falls back to it"


class FreePlanPriceFixed(DomainError):
    code = "free_plan_price_fixed"
    title = "The free plan's price is zero"


class PlanUnchanged(DomainError):
    code = "plan_unchanged"
    title = "The change would leave the plan as it is"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title = "No such subscription"


class AlreadySubscribed(DomainError):
    code = "already_subscribed"
    title = "The account already has a live subscription"


class SubscriptionEnded(DomainError):
    code = "subscription_ended"
    title = "The subscription has ended (canceled or expired) and accepts no further change"


class PaymentMethodRequired(DomainError):
    code = "payment_method_required"
    title = "A paid plan needs a payment method"
    category = Category.INVALID


class InvalidPaymentMethod(DomainError):
    code = "invalid_payment_method"
    title = "A payment method is a token of 1 to 200 letters, digits, '_' or '-'"
    category = Category.INVALID


class PaymentDeclined(DomainError):
    code = "payment_declined"
    title = "The payment was declined; nothing was changed"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"The payment was declined ({reason}); nothing was changed")

    def extensions(self) -> dict[str, Any]:
        return {"reason": self.reason}


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    title = "The new plan is billed in another currency than the subscription"


class AlreadyOnPlan(DomainError):
    code = "already_on_plan"
    title = "The subscription is already on this plan"


class PlanChangeNotAllowed(DomainError):
    code = "plan_change_not_allowed"
    title = "The plan can be changed only while the subscription is trialing or active"


class CancellationScheduled(DomainError):
    code = "cancellation_scheduled"
    title = "The subscription is set to cancel at the period end; revoke the cancellation first"


class CancelAlreadyScheduled(DomainError):
    code = "cancel_already_scheduled"
    title = "The subscription is already set to cancel at the period end"


class CancelAtPeriodEndNotAllowed(DomainError):
    code = "cancel_at_period_end_not_allowed"
    title = "Only a trialing, active or past-due subscription can be set to cancel at the period end"


class NoCancellationScheduled(DomainError):
    code = "no_cancellation_scheduled"
    title = "The subscription is not set to cancel"


class PauseNotAllowed(DomainError):
    code = "pause_not_allowed"
    title = "Only an active subscription that is not set to cancel can be paused"


class NotPaused(DomainError):
    code = "subscription_not_paused"
    title = "The subscription is not paused"


class NoOpenInvoice(DomainError):
    code = "no_open_invoice"
    title = "The subscription has no invoice waiting for payment"


class UnknownPaymentAttempt(NotFound):
    code = "unknown_payment_attempt"
    title = "No payment attempt with this id"


class InvalidGatewayEvent(DomainError):
    code = "invalid_gateway_event"
    title = "The payment provider's event is not one Chronicle reads"
    category = Category.INVALID


class PlanChangeAlreadyScheduled(DomainError):
    code = "plan_change_already_scheduled"
    title = "This plan change is already scheduled for the period end"


class PaymentMethodUnchanged(DomainError):
    code = "payment_method_unchanged"
    title = "The subscription already uses this payment method"
