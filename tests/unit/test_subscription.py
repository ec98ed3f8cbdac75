"""The Subscription aggregate, one behaviour per test: given a subscription in some state, when a
command or a due move runs, then the events emitted and the new state, or the named error (and
nothing emitted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.subscriptions.errors import (
    AlreadyOnPlan,
    AlreadySubscribed,
    CancelAlreadyScheduled,
    CancelAtPeriodEndNotAllowed,
    CancellationScheduled,
    CurrencyMismatch,
    InvalidPaymentMethod,
    NoCancellationScheduled,
    NotPaused,
    PauseNotAllowed,
    PaymentMethodRequired,
    PaymentMethodUnchanged,
    PlanChangeAlreadyScheduled,
    PlanChangeNotAllowed,
    PlanRetired,
    SubscriptionEnded,
)
from domain.subscriptions.plan import Plan
from domain.subscriptions.subscription import (
    CANCEL_AT_PERIOD_END,
    EXPIRE,
    FIRST_CHARGE,
    INCOMPLETE_WINDOW,
    RENEW,
    RETRY,
    DunningLadder,
    S,
    Subscription,
    SubscriptionSlot,
    add_interval,
    attempt_id_for,
    next_action_at,
)
from tests.unit.builders import event_types, refused
from tests.unit.subscription_builders import (
    ACCOUNT,
    BUSINESS,
    EURO,
    FREE,
    LADDER,
    PRO,
    PRO_YEARLY,
    SUB_ID,
    T0,
    TRIAL,
    a_plan,
    an_active,
    days,
    paid,
    past_due,
    started,
)

# --- starting ------------------------------------------------------------------------------------


def test_a_free_subscription_is_active_for_a_month_without_an_invoice() -> None:
    sub = Subscription.start(subscription_id=SUB_ID, account_id=ACCOUNT, plan=FREE, payment_method=None, now=T0)

    assert event_types(sub) == [Subscription.Started]
    assert (sub.status, sub.plan_code, sub.price) == (S.ACTIVE, "free", Decimal(0))
    assert (sub.period_start, sub.period_end) == (T0, datetime(2024, 2, 29, 12, tzinfo=UTC))
    assert sub.open_invoice_id is None
    assert sub.next_action_at == sub.period_end


def test_a_paid_plan_starts_incomplete_with_its_first_invoice_open() -> None:
    sub = Subscription.start(subscription_id=SUB_ID, account_id=ACCOUNT, plan=PRO, payment_method="pm_ok", now=T0)

    assert event_types(sub) == [Subscription.Started, Subscription.InvoiceIssued]
    assert sub.status == S.INCOMPLETE
    assert sub.amount_due == Decimal("20.00")
    assert sub.due_action(T0) == FIRST_CHARGE


def test_a_paid_plan_without_a_trial_needs_a_payment_method() -> None:
    with pytest.raises(PaymentMethodRequired):
        Subscription.start(subscription_id=SUB_ID, account_id=ACCOUNT, plan=PRO, payment_method=None, now=T0)


@pytest.mark.parametrize("token", ["", "pm ok", "pm_é", "x" * 201])
def test_a_malformed_payment_method_is_refused(token: str) -> None:
    with pytest.raises(InvalidPaymentMethod):
        Subscription.start(subscription_id=SUB_ID, account_id=ACCOUNT, plan=PRO, payment_method=token, now=T0)


def test_a_retired_plan_takes_no_new_subscription() -> None:
    plan = a_plan("old", "5.00")
    plan.retire(now=T0)
    with pytest.raises(PlanRetired):
        Subscription.start(subscription_id=SUB_ID, account_id=ACCOUNT, plan=plan, payment_method="pm_ok", now=T0)


def test_a_plan_with_a_trial_starts_trialing_until_the_trial_ends_without_a_payment_method() -> None:
    sub = Subscription.start(subscription_id=SUB_ID, account_id=ACCOUNT, plan=TRIAL, payment_method=None, now=T0)

    assert sub.status == S.TRIALING
    assert sub.trial_end == sub.period_end == T0 + days(14)
    assert sub.next_action_at == sub.trial_end
    assert sub.due_action(T0 + days(13)) is None


# --- the first payment and expiry ---------------------------------------------------------------------


def test_the_first_payment_activates_an_incomplete_subscription() -> None:
    sub = started(PRO)

    sub.record_attempt(sub.next_attempt(), "succeeded", at=T0, ladder=LADDER, now=T0)

    assert event_types(sub) == [Subscription.PaymentSucceeded, Subscription.Activated]
    assert sub.status == S.ACTIVE
    assert sub.open_invoice_id is None


def test_a_declined_first_payment_leaves_it_incomplete_without_retries_until_it_expires() -> None:
    sub = started(PRO, "pm_declined")

    sub.record_attempt(sub.next_attempt(), "declined", at=T0, ladder=LADDER, now=T0)

    assert event_types(sub) == [Subscription.PaymentFailed]
    assert sub.status == S.INCOMPLETE
    assert sub.next_retry_at is None
    assert sub.next_action_at == T0 + INCOMPLETE_WINDOW
    assert sub.due_action(T0 + INCOMPLETE_WINDOW - timedelta(seconds=1)) is None
    assert sub.due_action(T0 + INCOMPLETE_WINDOW) == EXPIRE


def test_an_incomplete_subscription_expires_and_ends() -> None:
    sub = started(PRO, "pm_declined")
    sub.record_attempt(sub.next_attempt(), "declined", at=T0, ladder=LADDER, now=T0)
    sub.collect_events()

    sub.expire(now=T0 + days(2))

    assert event_types(sub) == [Subscription.Expired]
    assert sub.status == S.EXPIRED
    assert sub.ended_at == T0 + INCOMPLETE_WINDOW
    assert sub.next_action_at is None


def test_a_pending_first_payment_waits_for_its_webhook() -> None:
    sub = started(PRO, "pm_pending")
    attempt = sub.next_attempt()
    sub.record_attempt(attempt, "pending", at=T0, ladder=LADDER, now=T0)
    sub.collect_events()

    assert not sub.settle_pending(attempt_id_for(SUB_ID, "other", 1), "succeeded", ladder=LADDER, now=T0)
    assert sub.settle_pending(attempt.attempt_id, "succeeded", ladder=LADDER, now=T0)

    assert event_types(sub) == [Subscription.PaymentSucceeded, Subscription.Activated]
    assert sub.status == S.ACTIVE
    assert not sub.settle_pending(attempt.attempt_id, "succeeded", ladder=LADDER, now=T0)


def test_attempt_ids_follow_from_the_subscription_the_invoice_and_the_attempt() -> None:
    one, two = started(PRO), started(PRO)

    assert one.next_attempt() == two.next_attempt()
    assert one.next_attempt().attempt_id == attempt_id_for(SUB_ID, T0.isoformat(), 1)


# --- renewals -----------------------------------------------------------------------------------------


def test_nothing_is_due_before_the_period_end() -> None:
    sub = an_active()

    assert sub.due_action(sub.period_end - timedelta(microseconds=1)) is None
    assert sub.due_action(sub.period_end) == RENEW


def test_a_renewal_starts_the_next_period_on_the_anchor_day_and_invoices_it() -> None:
    sub = an_active()  # from January 31st

    sub.renew(plan=PRO, now=sub.period_end)
    assert event_types(sub) == [Subscription.Renewed, Subscription.InvoiceIssued]
    paid(sub)
    sub.renew(plan=PRO, now=sub.period_end)

    assert (sub.period_start, sub.period_end) == (
        datetime(2024, 3, 31, 12, tzinfo=UTC),
        datetime(2024, 4, 30, 12, tzinfo=UTC),
    )
    assert sub.invoices_issued == 3


def test_a_renewal_takes_the_plans_current_price() -> None:
    sub = an_active()
    plan = a_plan("pro", "20.00")
    plan.change_price(price=Decimal("25.00"), now=T0)

    sub.renew(plan=plan, now=sub.period_end)

    assert sub.price == sub.amount_due == Decimal("25.00")


def test_a_free_subscription_renews_without_an_invoice() -> None:
    sub = an_active(FREE, None)

    sub.renew(plan=FREE, now=sub.period_end)

    assert event_types(sub) == [Subscription.Renewed]
    assert sub.status == S.ACTIVE


# --- dunning -------------------------------------------------------------------------------------------


def test_a_failed_renewal_makes_it_past_due_with_the_first_retry_a_day_later() -> None:
    sub = an_active()
    due = sub.period_end
    sub.renew(plan=PRO, now=due)
    sub.collect_events()

    sub.record_attempt(sub.next_attempt(), "insufficient_funds", at=due, ladder=LADDER, now=due + days(0.1))

    assert event_types(sub) == [Subscription.PaymentFailed, Subscription.BecamePastDue]
    assert sub.status == S.PAST_DUE
    assert sub.next_retry_at == sub.next_action_at == due + days(1)


def test_the_ladder_retries_after_its_offsets_then_ends_unpaid() -> None:
    sub = past_due()
    first = sub.first_failed_at
    assert first is not None
    for offset in (1, 3, 5):
        assert sub.due_action(first + days(offset)) == RETRY
        sub.record_attempt(sub.next_attempt(), "declined", at=first + days(offset), ladder=LADDER, now=T0)
        emitted = event_types(sub)
        if offset < 5:
            assert emitted == [Subscription.PaymentFailed]
            assert sub.next_retry_at == first + days({1: 3, 3: 5}[offset])
        else:
            assert emitted == [Subscription.PaymentFailed, Subscription.BecameUnpaid]

    assert sub.status == S.UNPAID
    assert sub.next_action_at is None
    assert sub.attempts == 4


def test_the_ladder_can_end_in_a_cancellation() -> None:
    ladder = DunningLadder((2,), "canceled")
    sub = past_due()
    sub.record_attempt(sub.next_attempt(), "declined", at=T0, ladder=ladder, now=T0)

    assert event_types(sub) == [Subscription.PaymentFailed, Subscription.Canceled]
    assert sub.status == S.CANCELED


def test_a_successful_retry_makes_it_active_again() -> None:
    sub = past_due()

    sub.record_attempt(sub.next_attempt(), "succeeded", at=T0, ladder=LADDER, now=T0)

    assert event_types(sub) == [Subscription.PaymentSucceeded, Subscription.Activated]
    assert sub.status == S.ACTIVE
    assert sub.next_retry_at is None


@pytest.mark.parametrize("days_", [(), (0,), (3, 1), (1, 1), (61,)])
def test_a_ladder_is_increasing_days_from_1_to_60(days_: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        DunningLadder(days_ or tuple(range(1, 12)))


# --- trials --------------------------------------------------------------------------------------------


def test_a_trial_that_ends_with_a_payment_is_active_for_its_first_period() -> None:
    sub = started(TRIAL)
    end = sub.trial_end
    assert end is not None and sub.due_action(end) == RENEW

    sub.renew(plan=TRIAL, now=end)
    sub.record_attempt(sub.next_attempt(), "succeeded", at=end, ladder=LADDER, now=end)

    assert event_types(sub) == [
        Subscription.Renewed,
        Subscription.InvoiceIssued,
        Subscription.PaymentSucceeded,
        Subscription.Activated,
    ]
    assert (sub.status, sub.period_start) == (S.ACTIVE, end)


def test_a_trial_without_a_payment_method_ends_past_due() -> None:
    sub = started(TRIAL, None)
    end = sub.period_end
    sub.renew(plan=TRIAL, now=end)
    sub.record_attempt(sub.next_attempt(), "no_payment_method", at=end, ladder=LADDER, now=end)

    assert sub.status == S.PAST_DUE


# --- cancellation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["incomplete", "trialing", "active", "past_due", "paused"])
def test_any_live_subscription_can_be_canceled_now(given: str) -> None:
    sub = a_subscription(given)

    sub.cancel(at_period_end=False, now=T0 + days(1))

    assert event_types(sub) == [Subscription.Canceled]
    assert (sub.status, sub.ended_at) == (S.CANCELED, T0 + days(1))


def test_an_ended_subscription_accepts_no_command() -> None:
    sub = an_active()
    sub.cancel(at_period_end=False, now=T0)
    sub.collect_events()

    refused(sub, SubscriptionEnded, lambda s: s.cancel(at_period_end=False, now=T0))
    refused(sub, SubscriptionEnded, lambda s: s.pause(now=T0))
    refused(sub, SubscriptionEnded, lambda s: s.plan_change(BUSINESS, T0))
    refused(sub, SubscriptionEnded, lambda s: s.update_payment_method(payment_method="pm_new", now=T0))
    assert sub.due_action(T0 + days(400)) is None


def test_a_cancellation_at_the_period_end_happens_then_and_can_be_revoked_before() -> None:
    sub = an_active()
    sub.cancel(at_period_end=True, now=T0 + days(3))
    assert event_types(sub) == [Subscription.CancelScheduled]
    refused(sub, CancelAlreadyScheduled, lambda s: s.cancel(at_period_end=True, now=T0))

    assert sub.due_action(sub.period_end) == CANCEL_AT_PERIOD_END
    sub.revoke_cancellation(now=T0 + days(4))
    assert event_types(sub) == [Subscription.CancelRevoked]
    assert sub.due_action(sub.period_end) == RENEW
    refused(sub, NoCancellationScheduled, lambda s: s.revoke_cancellation(now=T0))


def test_at_the_period_end_a_scheduled_cancellation_ends_it_then() -> None:
    sub = an_active()
    sub.cancel(at_period_end=True, now=T0)
    sub.collect_events()

    sub.cancel_at_end(now=sub.period_end + days(1))

    assert event_types(sub) == [Subscription.Canceled]
    assert (sub.status, sub.ended_at) == (S.CANCELED, sub.period_end)


@pytest.mark.parametrize("given", ["incomplete", "paused"])
def test_only_trialing_active_or_past_due_can_cancel_at_the_period_end(given: str) -> None:
    refused(a_subscription(given), CancelAtPeriodEndNotAllowed, lambda s: s.cancel(at_period_end=True, now=T0))


def test_a_scheduled_cancellation_drops_a_scheduled_downgrade() -> None:
    sub = an_active(BUSINESS)
    sub.change_plan(PRO, sub.plan_change(PRO, T0), now=T0)
    sub.collect_events()

    sub.cancel(at_period_end=True, now=T0)

    assert event_types(sub) == [Subscription.DowngradeCanceled, Subscription.CancelScheduled]


# --- pause and resume -----------------------------------------------------------------------------------


def test_a_paused_subscription_is_never_due_and_resumes_with_the_time_it_had_left() -> None:
    sub = an_active()
    end = sub.period_end
    sub.pause(now=T0 + days(10))
    assert event_types(sub) == [Subscription.Paused]
    assert sub.next_action_at is None

    sub.resume(now=T0 + days(40))

    assert event_types(sub) == [Subscription.Resumed]
    assert sub.status == S.ACTIVE
    assert (sub.period_start, sub.period_end) == (T0 + days(30), end + days(30))


@pytest.mark.parametrize("given", ["incomplete", "trialing", "past_due", "paused"])
def test_only_an_active_subscription_pauses(given: str) -> None:
    refused(a_subscription(given), PauseNotAllowed, lambda s: s.pause(now=T0))


def test_a_subscription_set_to_cancel_does_not_pause() -> None:
    sub = an_active()
    sub.cancel(at_period_end=True, now=T0)
    sub.collect_events()
    refused(sub, PauseNotAllowed, lambda s: s.pause(now=T0))


def test_only_a_paused_subscription_resumes() -> None:
    refused(an_active(), NotPaused, lambda s: s.resume(now=T0))


# --- payment method -------------------------------------------------------------------------------------


def test_a_new_payment_method_is_kept_and_the_same_one_refused() -> None:
    sub = past_due()

    sub.update_payment_method(payment_method="pm_new", now=T0)

    assert event_types(sub) == [Subscription.PaymentMethodUpdated]
    assert sub.collectable
    refused(sub, PaymentMethodUnchanged, lambda s: s.update_payment_method(payment_method="pm_new", now=T0))


# --- plan changes ------------------------------------------------------------------------------------------


def test_an_upgrade_is_prorated_and_invoiced_at_once() -> None:
    sub = an_active(PRO)  # 20.00 from Jan 31 to Feb 29 (29 days)
    at = sub.period_start + (sub.period_end - sub.period_start) / 2

    change = sub.plan_change(BUSINESS, at)
    assert change.immediate
    assert [(line.kind, line.amount) for line in change.lines] == [
        ("credit", Decimal("-10.00")),
        ("charge", Decimal("25.00")),
    ]
    sub.change_plan(BUSINESS, change, now=at)

    assert event_types(sub) == [Subscription.PlanChanged, Subscription.InvoiceIssued]
    assert (sub.plan_code, sub.price, sub.amount_due) == ("business", Decimal("50.00"), Decimal("15.00"))
    assert (sub.period_start, sub.period_end) == (T0, datetime(2024, 2, 29, 12, tzinfo=UTC))


def test_an_upgrade_from_the_free_plan_starts_a_new_period_at_the_full_price() -> None:
    sub = an_active(FREE, "pm_ok")
    at = T0 + days(10)

    change = sub.plan_change(PRO, at)
    sub.change_plan(PRO, change, now=at)

    assert [(line.kind, line.amount) for line in change.lines] == [("charge", Decimal("20.00"))]
    assert (sub.period_start, sub.period_end) == (at, add_interval(at, "month", at.day))


def test_an_upgrade_to_a_yearly_plan_credits_the_unused_month_and_starts_a_year() -> None:
    sub = an_active(PRO)
    at = sub.period_start + (sub.period_end - sub.period_start) / 2

    change = sub.plan_change(a_plan("business-yearly", "300.00", "year"), at)

    assert change.immediate and change.total == Decimal("290.00")
    assert change.period_end == add_interval(at, "year", at.day)


def test_an_upgrade_without_a_payment_method_is_refused() -> None:
    sub = an_active(FREE, None)
    change = sub.plan_change(PRO, T0 + days(1))
    refused(sub, PaymentMethodRequired, lambda s: s.change_plan(PRO, change, now=T0 + days(1)))


@pytest.mark.parametrize(("current", "target"), [(BUSINESS, PRO), (PRO, FREE), (PRO_YEARLY, BUSINESS)])
def test_a_downgrade_or_a_shorter_interval_waits_for_the_period_end(current: Plan, target: Plan) -> None:
    sub = an_active(current)

    change = sub.plan_change(target, T0 + days(3))
    sub.change_plan(target, change, now=T0 + days(3))

    assert not change.immediate and change.lines == []
    assert event_types(sub) == [Subscription.DowngradeScheduled]
    assert sub.plan_code == current.code
    refused(sub, PlanChangeAlreadyScheduled, lambda s: s.plan_change(target, T0 + days(4)))

    sub.renew(plan=target, now=sub.period_end)
    assert (sub.plan_code, sub.price, sub.interval) == (target.code, target.price, target.interval)
    assert sub.downgrade_plan_id is None


def test_changing_back_to_the_current_plan_takes_a_scheduled_downgrade_back() -> None:
    sub = an_active(BUSINESS)
    sub.change_plan(PRO, sub.plan_change(PRO, T0), now=T0)
    sub.collect_events()

    sub.change_plan(BUSINESS, sub.plan_change(BUSINESS, T0), now=T0)

    assert event_types(sub) == [Subscription.DowngradeCanceled]
    assert sub.renewal_plan_id == BUSINESS.id


def test_a_change_during_a_trial_is_immediate_and_costs_nothing() -> None:
    sub = started(TRIAL)
    change = sub.plan_change(PRO, T0 + days(1))
    sub.change_plan(PRO, change, now=T0 + days(1))

    assert event_types(sub) == [Subscription.PlanChanged]
    assert (sub.status, sub.plan_code, sub.trial_end) == (S.TRIALING, "pro", T0 + days(14))


def test_refused_plan_changes() -> None:
    retired = a_plan("old", "90.00")
    retired.retire(now=T0)
    active = an_active(PRO)
    refused(active, AlreadyOnPlan, lambda s: s.plan_change(PRO, T0))
    refused(active, CurrencyMismatch, lambda s: s.plan_change(EURO, T0))
    refused(active, PlanRetired, lambda s: s.plan_change(retired, T0))
    refused(past_due(), PlanChangeNotAllowed, lambda s: s.plan_change(BUSINESS, T0))
    refused(started(PRO), PlanChangeNotAllowed, lambda s: s.plan_change(BUSINESS, T0))
    active.cancel(at_period_end=True, now=T0)
    active.collect_events()
    refused(active, CancellationScheduled, lambda s: s.plan_change(BUSINESS, T0))


# --- when a job must look ----------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["incomplete", "trialing", "active", "past_due", "paused", "unpaid"])
def test_next_action_at_is_the_published_function_of_the_read_models_fields(given: str) -> None:
    sub = a_subscription(given)

    assert sub.next_action_at == next_action_at(
        sub.status,
        period_end=sub.period_end,
        trial_end=sub.trial_end,
        next_retry_at=sub.next_retry_at,
        incomplete_due_at=sub.incomplete_due_at,
        cancel_at_period_end=sub.cancel_at_period_end,
    )


# --- the account's slot -------------------------------------------------------------------------------------


def test_an_accounts_slot_holds_one_live_subscription_at_a_time() -> None:
    slot = SubscriptionSlot.open(account_id=ACCOUNT, now=T0)
    slot.take(SUB_ID, now=T0)
    slot.collect_events()

    refused(slot, AlreadySubscribed, lambda s: s.take(SUB_ID, now=T0))
    slot.release(SUB_ID, now=T0)
    slot.take(ACCOUNT, now=T0)

    assert event_types(slot) == [SubscriptionSlot.Released, SubscriptionSlot.Taken]
    assert (slot.subscription_id, slot.latest_id) == (ACCOUNT, ACCOUNT)


def a_subscription(status: str) -> Subscription:
    """A subscription in ``status`` (its events collected)."""
    if status == "incomplete":
        return started(PRO)
    if status == "trialing":
        return started(TRIAL)
    if status == "active":
        return an_active()
    if status == "past_due":
        return past_due()
    sub = an_active() if status == "paused" else past_due()
    if status == "paused":
        sub.pause(now=T0 + days(1))
    else:
        for _ in range(3):
            sub.record_attempt(sub.next_attempt(), "declined", at=T0, ladder=LADDER, now=T0)
    sub.collect_events()
    assert sub.status == status
    return sub


def test_a_free_subscription_behind_by_months_moves_to_the_current_period_in_one_renewal() -> None:
    sub = an_active(FREE, None)
    as_of = T0 + days(100)

    sub.renew(plan=FREE, now=as_of, through=as_of)

    assert event_types(sub) == [Subscription.Renewed]
    assert sub.period_start <= as_of < sub.period_end
    assert sub.period_start.day == 30 and sub.period_end.day == 31  # still on the anchor day (31st)
