"""Random lifecycles of a Subscription, checked against a model after every step.

Time moves forward by random steps; the jobs' moves (``due_action`` and what it asks for:
renewals, trial ends, first charges, retries, scheduled cancellations, expiries) run whenever
the machine asks, with the outcome the payment method's token stands for. The owner's commands
(cancel now or at the period end, revoke, pause, resume, change plan, new payment method) run
in any state. Every refusal must be exactly the one the model predicts, with nothing emitted.

After every step the subscription agrees with the model (status, plan, period, open invoice,
dunning, when it is next due), every invoice's total is the sum of its lines in the minor unit,
and the subscription rebuilt from its events (in memory, and through the event store, which
snapshots every three events) equals the live one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.shared.errors import DomainError
from domain.subscriptions.errors import (
    AlreadyOnPlan,
    CancelAlreadyScheduled,
    CancelAtPeriodEndNotAllowed,
    CancellationScheduled,
    CurrencyMismatch,
    NoCancellationScheduled,
    NotPaused,
    PauseNotAllowed,
    PaymentMethodRequired,
    PaymentMethodUnchanged,
    PlanChangeAlreadyScheduled,
    PlanChangeNotAllowed,
    SubscriptionEnded,
)
from domain.subscriptions.plan import Plan, months_in
from domain.subscriptions.proration import to_minor_unit, unused_fraction
from domain.subscriptions.subscription import (
    INCOMPLETE_WINDOW,
    DunningLadder,
    Subscription,
    add_interval,
)
from tests.property.replay import Recorder, rebuild
from tests.unit.subscription_builders import ACCOUNT, BUSINESS, EURO, FREE, PRO, PRO_YEARLY, SUB_ID, T0, TRIAL, a_plan

BUSINESS_YEARLY = a_plan("business-yearly", "480.00", "year")
PLANS = [FREE, PRO, BUSINESS, PRO_YEARLY, BUSINESS_YEARLY, TRIAL, EURO]
BY_CODE = {plan.code: plan for plan in PLANS}
plans = st.sampled_from(sorted(BY_CODE))
TOKENS = ["pm_ok", "pm_ok", "pm_declined", "pm_insufficient_funds", "pm_pending"]
OUTCOME = {"pm_ok": "succeeded", "pm_declined": "declined", "pm_insufficient_funds": "insufficient_funds"}
OUTCOME |= {"pm_pending": "pending"}
LADDERS = [DunningLadder((1, 3, 5), "unpaid"), DunningLadder((2,), "canceled"), DunningLadder((), "unpaid")]
LIVE = {"trialing", "incomplete", "active", "past_due", "unpaid", "paused"}
steps = st.one_of(
    st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    st.integers(1, 40).map(lambda d: timedelta(days=d)),
    st.just(timedelta(0)),
)


@dataclass
class Model:
    """What the subscription should be, kept by hand."""

    status: str
    plan: Plan
    price: Decimal
    period_start: datetime
    period_end: datetime
    trial_end: datetime | None
    payment_method: str | None
    started_at: datetime
    anchor_day: int
    cancel: bool = False
    downgrade: Plan | None = None
    open_invoice: bool = False
    amount_due: Decimal = Decimal(0)
    attempts: int = 0
    failures: int = 0
    first_failed_at: datetime | None = None
    next_retry_at: datetime | None = None
    pending: bool = False
    paused_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status not in LIVE

    def due(self, now: datetime) -> tuple[datetime, str] | None:
        """When the next move is due, and which it is at ``now``."""
        if self.status == "incomplete":
            if self.open_invoice and self.attempts == 0:
                return self.started_at, "first_charge"
            return self.started_at + INCOMPLETE_WINDOW, "expire"
        times = []
        if self.status in ("trialing", "active"):
            times.append(self.period_end)
        if self.status == "past_due" and self.next_retry_at is not None:
            times.append(self.next_retry_at)
        if self.status in ("past_due", "unpaid") and self.cancel:
            times.append(self.period_end)
        if not times:
            return None
        if self.cancel and now >= self.period_end:
            return min(times), "cancel_at_period_end"
        return min(times), "retry" if self.status == "past_due" else "renew"


class SubscriptionMachine(RuleBasedStateMachine):
    sub: Subscription

    def __init__(self) -> None:
        super().__init__()
        self.recorder = Recorder()
        self.now = T0

    # --- running a step ---------------------------------------------------------------------

    def run(self, refusal: type[DomainError] | None, command: Callable[[], object]) -> bool:
        """``command`` raises exactly ``refusal`` with nothing emitted, or emits and is recorded."""
        if refusal is not None:
            try:
                command()
            except DomainError as error:
                assert type(error) is refusal, f"expected {refusal.__name__}, got {type(error).__name__}: {error}"
            else:
                raise AssertionError(f"expected {refusal.__name__}, but the command was accepted")
            assert self.sub.pending_events == []
            return False
        command()
        assert self.sub.pending_events, "an accepted command emits"
        self.recorder.record(self.sub)
        return True

    def outcome(self) -> str:
        return OUTCOME[self.sub.payment_method] if self.sub.payment_method else "no_payment_method"

    def collect(self, at: datetime) -> None:
        """Charge the open invoice, in the aggregate and in the model."""
        outcome = self.outcome()
        self.sub.record_attempt(self.sub.next_attempt(), outcome, at=at, ladder=self.ladder, now=self.now)
        self.model.attempts += 1
        self.answered(outcome, at)

    def answered(self, outcome: str, at: datetime) -> None:
        """The model after the gateway's answer to the latest attempt, made at ``at``."""
        m = self.model
        if outcome == "succeeded":
            m.open_invoice, m.amount_due, m.pending = False, Decimal(0), False
            m.failures, m.first_failed_at, m.next_retry_at = 0, None, None
            if m.status in ("incomplete", "trialing", "past_due", "unpaid"):
                m.status = "active"
        elif outcome == "pending":
            m.pending, m.next_retry_at = True, None
            if m.status == "trialing":
                m.status = "active"
        else:
            m.failures += 1
            m.pending = False
            m.first_failed_at = base = m.first_failed_at or at
            if m.status not in ("trialing", "active", "past_due"):
                m.next_retry_at = None
            elif m.failures <= len(self.ladder.retry_days):
                m.next_retry_at = base + timedelta(days=self.ladder.retry_days[m.failures - 1])
                m.status = "past_due"
            else:
                m.next_retry_at = None
                m.status = self.ladder.final_status
                if m.status == "canceled":
                    m.ended_at = at

    def open_invoice(self, amount: Decimal) -> None:
        m = self.model
        m.open_invoice, m.amount_due, m.attempts, m.failures = True, amount, 0, 0
        m.first_failed_at, m.next_retry_at, m.pending = None, None, False

    # --- start --------------------------------------------------------------------------------

    @initialize(
        code=plans,
        token=st.sampled_from([None, *TOKENS]),
        ladder=st.sampled_from(LADDERS),
        charge_at_once=st.sampled_from([True, True, True, False]),
    )
    def start(self, code: str, token: str | None, ladder: DunningLadder, charge_at_once: bool) -> None:
        """As ``subscribe`` does: the first invoice is charged at once (unless the process stopped in between)."""
        plan = BY_CODE[code]
        if plan.price and not plan.trial_days and token is None:
            token = "pm_ok"
        self.ladder = ladder
        self.sub = Subscription.start(
            subscription_id=SUB_ID, account_id=ACCOUNT, plan=plan, payment_method=token, now=T0
        )
        self.recorder.record(self.sub)
        trial_end = T0 + timedelta(days=plan.trial_days) if plan.trial_days and plan.price else None
        status = "active" if plan.price == 0 else "trialing" if trial_end else "incomplete"
        end = trial_end or add_interval(T0, plan.interval, T0.day)
        self.model = Model(status, plan, plan.price, T0, end, trial_end, token, T0, (trial_end or T0).day)
        if status == "incomplete":
            self.open_invoice(plan.price)
            if charge_at_once:
                self.collect(T0)
                self.recorder.record(self.sub)

    # --- time and the jobs ------------------------------------------------------------------------

    @rule(step=steps)
    def time_passes(self, step: timedelta) -> None:
        self.now += step

    @rule(step=st.integers(1, 35).map(lambda d: timedelta(days=d)))
    def days_pass_and_the_job_runs(self, step: timedelta) -> None:
        self.now += step
        self.the_job_runs()

    @rule(step=st.integers(1, 35).map(lambda d: timedelta(days=d)))
    def more_days_pass_and_the_job_runs(self, step: timedelta) -> None:
        """(Twice as likely as the other rules: most of a subscription's life is its renewals.)"""
        self.days_pass_and_the_job_runs(step)

    @rule()
    def the_job_runs(self) -> None:
        """What ``advance`` does: every move due by now, saved together."""
        moved = False
        for _ in range(30):
            due = self.model.due(self.now)
            if due is None or self.now < due[0]:
                assert self.sub.due_action(self.now) is None
                break
            at, action = due
            assert self.sub.due_action(self.now) == action
            self.move(action, at)
            moved = True
        if moved:
            self.recorder.record(self.sub)

    def move(self, action: str, at: datetime) -> None:
        m = self.model
        if action == "expire":
            self.sub.expire(now=self.now)
            m.status, m.ended_at = "expired", m.started_at + INCOMPLETE_WINDOW
        elif action == "cancel_at_period_end":
            self.sub.cancel_at_end(now=self.now)
            m.status, m.ended_at = "canceled", m.period_end
        elif action == "first_charge":
            self.collect(at)
        elif action == "retry":
            assert m.next_retry_at is not None
            self.collect(m.next_retry_at)
        else:
            plan = m.downgrade or m.plan
            was_trialing = m.status == "trialing"
            needs_payment = self.sub.renew(plan=plan, now=self.now, through=self.now)
            m.period_start, m.period_end = m.period_end, add_interval(m.period_end, plan.interval, m.anchor_day)
            while plan.price == 0 and m.period_end <= self.now:  # nothing to bill: straight to the current period
                m.period_start, m.period_end = m.period_end, add_interval(m.period_end, plan.interval, m.anchor_day)
            m.plan, m.price, m.downgrade = plan, plan.price, None
            assert needs_payment is (plan.price > 0)
            if plan.price == 0:
                if was_trialing:
                    m.status = "active"
            else:
                self.open_invoice(plan.price)
                self.collect(m.period_start)

    @rule(succeeded=st.booleans())
    def a_webhook_settles_the_pending_charge(self, succeeded: bool) -> None:
        m = self.model
        attempt = self.sub.pending_attempt_id
        assert (attempt is not None) == (m.pending and not m.ended)
        if attempt is None:
            assert not self.sub.settle_pending(SUB_ID, "succeeded", ladder=self.ladder, now=self.now)
            return
        outcome = "succeeded" if succeeded else "declined"
        assert self.sub.settle_pending(attempt, outcome, ladder=self.ladder, now=self.now)
        self.answered(outcome, self.now)
        self.recorder.record(self.sub)

    # --- the owner's commands ------------------------------------------------------------------

    @rule(gate=st.integers(0, 5))
    def cancel_now(self, gate: int) -> None:
        """Rarely (ending it leaves little to explore), unless it has ended already."""
        m = self.model
        if gate and not m.ended:
            return
        if self.run(SubscriptionEnded if m.ended else None, lambda: self.sub.cancel(at_period_end=False, now=self.now)):
            m.status, m.ended_at = "canceled", self.now
            m.pending, m.next_retry_at = False, None

    @rule()
    def cancel_at_period_end(self) -> None:
        m = self.model
        refusal = (
            (SubscriptionEnded if m.ended else None)
            or (CancelAlreadyScheduled if m.cancel else None)
            or (CancelAtPeriodEndNotAllowed if m.status not in ("trialing", "active", "past_due") else None)
        )
        if self.run(refusal, lambda: self.sub.cancel(at_period_end=True, now=self.now)):
            m.cancel, m.downgrade = True, None

    @rule()
    def revoke(self) -> None:
        m = self.model
        refusal = (SubscriptionEnded if m.ended else None) or (NoCancellationScheduled if not m.cancel else None)
        if self.run(refusal, lambda: self.sub.revoke_cancellation(now=self.now)):
            m.cancel = False

    @rule()
    def pause(self) -> None:
        m = self.model
        refusal = (SubscriptionEnded if m.ended else None) or (
            PauseNotAllowed if m.status != "active" or m.cancel or self.now >= m.period_end else None
        )
        if self.run(refusal, lambda: self.sub.pause(now=self.now)):
            m.status, m.paused_at = "paused", self.now

    @rule()
    def resume(self) -> None:
        m = self.model
        refusal = (SubscriptionEnded if m.ended else None) or (NotPaused if m.status != "paused" else None)
        if self.run(refusal, lambda: self.sub.resume(now=self.now)):
            assert m.paused_at is not None
            shift = self.now - m.paused_at
            m.status, m.paused_at = "active", None
            m.period_start, m.period_end = m.period_start + shift, m.period_end + shift
            m.anchor_day = m.period_end.day

    @rule(token=st.sampled_from(TOKENS))
    def new_payment_method(self, token: str) -> None:
        m = self.model
        refusal = (SubscriptionEnded if m.ended else None) or (
            PaymentMethodUnchanged if token == m.payment_method else None
        )
        collectable = m.status in ("incomplete", "past_due", "unpaid") and m.open_invoice and not m.pending

        def command() -> None:
            self.sub.update_payment_method(payment_method=token, now=self.now)
            if collectable:
                self.collect(self.now)

        if self.run(refusal, command):
            m.payment_method = token

    @rule(code=plans)
    def change_plan(self, code: str) -> None:
        m, plan = self.model, BY_CODE[code]
        upgrade = plan.monthly_price > m.price / months_in(m.plan.interval) and months_in(plan.interval) >= months_in(
            m.plan.interval
        )
        if m.price == 0 or plan.interval != m.plan.interval:
            credit = to_minor_unit(m.price * unused_fraction(m.period_start, m.period_end, self.now), "USD")
            total = plan.price - credit
        else:
            total = to_minor_unit(
                (plan.price - m.price) * unused_fraction(m.period_start, m.period_end, self.now), "USD"
            )
        immediate = m.status == "trialing" or upgrade
        refusal = (
            (SubscriptionEnded if m.ended else None)
            or (PlanChangeNotAllowed if m.status not in ("trialing", "active") else None)
            or (CancellationScheduled if m.cancel else None)
            or (CurrencyMismatch if plan.currency != m.plan.currency else None)
            or (AlreadyOnPlan if plan.id == m.plan.id and m.downgrade is None else None)
        )
        if refusal is None and plan.id != m.plan.id and not immediate and m.downgrade is plan:
            refusal = PlanChangeAlreadyScheduled
        charged = refusal is None and plan.id != m.plan.id and m.status == "active" and upgrade and total > 0
        if refusal is None and charged and m.payment_method is None:
            refusal = PaymentMethodRequired

        def command() -> None:
            change = self.sub.plan_change(plan, self.now)
            assert change.immediate is (immediate and plan.id != m.plan.id)
            if change.immediate and m.status == "active":
                assert change.total == total
            opened = self.sub.change_plan(plan, change, now=self.now)
            assert opened is charged
            if opened:
                self.open_invoice(total)
                self.collect(self.now)

        status_before = m.status
        if not self.run(refusal, command):
            return
        if plan.id == m.plan.id:
            m.downgrade = None
        elif not immediate:
            m.downgrade = plan
        else:
            if status_before == "active" and (m.price == 0 or plan.interval != m.plan.interval):
                m.period_start, m.period_end = self.now, add_interval(self.now, plan.interval, self.now.day)
                m.anchor_day = self.now.day
            m.plan, m.price, m.downgrade = plan, plan.price, None

    # --- after every step ----------------------------------------------------------------------

    @invariant()
    def the_subscription_agrees_with_the_model(self) -> None:
        m, sub = self.model, self.sub
        assert sub.status == m.status
        assert (sub.plan_id, sub.price, sub.interval) == (m.plan.id, m.price, m.plan.interval)
        assert (sub.period_start, sub.period_end, sub.trial_end) == (m.period_start, m.period_end, m.trial_end)
        assert (sub.cancel_at_period_end, sub.downgrade_plan_id) == (m.cancel, m.downgrade.id if m.downgrade else None)
        assert sub.payment_method == m.payment_method
        assert sub.ended_at == m.ended_at
        if m.status in LIVE:
            assert (sub.open_invoice_id is not None) == m.open_invoice
            assert sub.amount_due == m.amount_due
            assert sub.next_retry_at == m.next_retry_at
            due = m.due(self.now)
            assert sub.next_action_at == (due[0] if due else None)
        else:
            assert sub.next_action_at is None

    @invariant()
    def the_period_runs_forward_and_amounts_are_in_the_minor_unit(self) -> None:
        assert self.sub.period_start < self.sub.period_end
        assert self.sub.amount_due >= 0 and self.sub.amount_due == to_minor_unit(self.sub.amount_due, "USD")

    @invariant()
    def every_invoice_totals_its_lines(self) -> None:
        for event in self.recorder.events:
            if isinstance(event, Subscription.InvoiceIssued):
                amounts = [Decimal(line["amount"]) for line in event.lines]
                assert event.total == sum(amounts, Decimal(0)) > 0
                assert all(a < 0 for line, a in zip(event.lines, amounts, strict=True) if line["kind"] == "credit")

    @invariant()
    def the_subscription_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.sub

    @invariant()
    def the_subscription_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.sub) == self.sub


SubscriptionMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSubscriptionMachine = SubscriptionMachine.TestCase
