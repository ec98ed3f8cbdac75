"""The Subscriptions application over the in-memory store and the in-memory offline gateway:
commands, the jobs' ``advance`` (idempotent, charged once), webhooks, and the free-plan policy."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from application.shared.commands import CommandContext, CommandResult
from application.subscriptions.application import (
    FreePlanConfig,
    SubscriptionsApplication,
    free_subscription_id,
)
from application.subscriptions.closed_accounts_policy import ClosedAccountsPolicy
from application.subscriptions.free_plan_policy import FreePlanPolicy
from application.subscriptions.ports import Charge
from domain.accounts.account import Account
from domain.shared.errors import DomainError
from domain.subscriptions.errors import (
    AlreadySubscribed,
    InvalidGatewayEvent,
    PaymentDeclined,
    PlanCodeTaken,
    PlanNotFound,
    PlanRetired,
    SubscriptionNotFound,
    UnknownPaymentAttempt,
)
from domain.subscriptions.plan import Plan
from domain.subscriptions.subscription import (
    DunningLadder,
    S,
    Subscription,
    attempt_id_for,
)
from infrastructure.subscriptions.gateway import MemoryGateway
from tests.unit.builders import a_profile
from tests.unit.subscription_builders import T0, days

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def ctx(at: datetime = T0) -> CommandContext:
    return CommandContext(actor="test", correlation_id=str(uuid4()), causation_id="test", now=at)


@pytest.fixture
def gateway() -> MemoryGateway:
    return MemoryGateway()


@pytest.fixture
def app(gateway: MemoryGateway) -> SubscriptionsApplication:
    return a_app(gateway)


def a_app(gateway: MemoryGateway, ladder: DunningLadder | None = None) -> SubscriptionsApplication:
    app = SubscriptionsApplication(gateway, ladder, FreePlanConfig(limits={"trades_per_day": 10}), env=POPO)
    app.ensure_free_plan(ctx())
    app.create_plan(ctx(), code="pro", name="Pro", price=Decimal("20.00"), currency="USD", interval="month")
    app.create_plan(
        ctx(),
        code="business",
        name="Business",
        price=Decimal("50.00"),
        currency="USD",
        interval="month",
        features=["bulk_import"],
    )
    return app


def head(app: SubscriptionsApplication) -> int:
    return app.recorder.max_notification_id() or 0


def stream(app: SubscriptionsApplication, sub_id: UUID) -> list[str]:
    return [type(app.mapper.to_domain_event(s)).__name__ for s in app.recorder.select_events(sub_id)]


# --- plans ---------------------------------------------------------------------------------------------


def test_the_free_plan_is_created_once_and_an_admins_change_is_kept(app: SubscriptionsApplication) -> None:
    app.change_plan_limits(ctx(), "free", limits={"trades_per_day": 3}, features=[])

    assert app.ensure_free_plan(ctx()) is None
    free = app.plan("FREE")
    assert (free.price, free.limits, free.version) == (Decimal(0), {"trades_per_day": 3}, 2)


def test_a_plan_code_is_taken_in_any_case(app: SubscriptionsApplication) -> None:
    with pytest.raises(PlanCodeTaken):
        app.create_plan(ctx(), code="PRO", name="Pro again", price=Decimal(1), currency="USD", interval="month")


def test_an_unknown_plan_is_not_found(app: SubscriptionsApplication) -> None:
    with pytest.raises(PlanNotFound):
        app.subscribe(ctx(), uuid4(), "gold", "pm_ok")


def test_a_retired_plan_takes_no_new_subscriber_and_its_subscribers_run_on(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.retire_plan(ctx(), "pro")

    with pytest.raises(PlanRetired):
        app.subscribe(ctx(), uuid4(), "pro", "pm_ok")
    due = app.subscription(sub_id).period_end
    assert app.advance(ctx(due), sub_id, due).actions == ("renew",)
    assert (app.subscription(sub_id).plan_code, app.subscription(sub_id).status) == ("pro", S.ACTIVE)


# --- subscribing -----------------------------------------------------------------------------------------


def test_a_paid_subscription_is_charged_once_and_active(app: SubscriptionsApplication, gateway: MemoryGateway) -> None:
    account = uuid4()
    result = app.subscribe(ctx(), account, "pro", "pm_ok")

    sub = app.subscription_of(account)
    assert (sub.id, sub.status, sub.plan_code) == (result.id, S.ACTIVE, "pro")
    assert stream(app, sub.id) == ["Started", "InvoiceIssued", "PaymentSucceeded", "Activated"]
    assert [(c.amount, c.status, c.requests) for c in gateway.charges(account)] == [(Decimal("20.00"), "succeeded", 1)]


def test_a_declined_first_payment_leaves_it_incomplete_and_a_new_card_pays_it(app: SubscriptionsApplication) -> None:
    account = uuid4()
    app.subscribe(ctx(), account, "pro", "pm_declined")
    assert app.subscription_of(account).status == S.INCOMPLETE

    app.update_payment_method(ctx(T0 + days(0.5)), account, "pm_ok")

    sub = app.subscription_of(account)
    assert sub.status == S.ACTIVE
    assert stream(app, sub.id)[-3:] == ["PaymentMethodUpdated", "PaymentSucceeded", "Activated"]


def test_an_account_has_one_live_subscription_and_may_start_another_after_the_end(
    app: SubscriptionsApplication,
) -> None:
    account = uuid4()
    first = app.subscribe(ctx(), account, "free").id
    with pytest.raises(AlreadySubscribed):
        app.subscribe(ctx(), account, "pro", "pm_ok")

    app.cancel_subscription(ctx(), account, at_period_end=False)
    second = app.subscribe(ctx(), account, "pro", "pm_ok").id

    assert second != first
    assert app.subscription_id_of(account) == second
    assert app.subscription(first).status == S.CANCELED


def test_an_account_without_a_subscription_has_none(app: SubscriptionsApplication) -> None:
    assert app.subscription_id_of(uuid4()) is None
    with pytest.raises(SubscriptionNotFound):
        app.cancel_subscription(ctx(), uuid4(), at_period_end=True)


# --- advance: the jobs ---------------------------------------------------------------------------------------


def test_advance_with_nothing_due_writes_nothing(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    before = head(app)

    outcome = app.advance(ctx(T0 + days(1)), sub_id, T0 + days(1))

    assert (outcome.actions, outcome.written, head(app)) == ((), False, before)


def test_advance_run_twice_renews_once_and_charges_once(app: SubscriptionsApplication, gateway: MemoryGateway) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    due = app.subscription(sub_id).period_end

    first = app.advance(ctx(due), sub_id, due)
    after_first = head(app)
    second = app.advance(ctx(due + timedelta(minutes=5)), sub_id, due)

    assert first.actions == ("renew",) and first.written
    assert not second.written and head(app) == after_first
    assert stream(app, sub_id).count("Renewed") == 1
    assert [c.requests for c in gateway.charges(account)] == [1, 1]  # the first payment and the renewal


def test_a_rerun_after_a_crash_between_charge_and_save_is_not_charged_again(
    app: SubscriptionsApplication, gateway: MemoryGateway
) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    sub = app.subscription(sub_id)
    due = sub.period_end
    # The first run charged the renewal's first attempt, then died before it saved anything.
    renewal_attempt = attempt_id_for(sub_id, due.isoformat(), 1)
    gateway.charge(renewal_attempt, account, Decimal("20.00"), "USD", "pm_ok")

    outcome = app.advance(ctx(due), sub_id, due)

    assert outcome.actions == ("renew",)
    charges = {c.attempt_id: c for c in gateway.charges(account)}
    assert len(charges) == 2 and charges[renewal_attempt].requests == 2  # asked twice, charged once
    assert app.subscription(sub_id).status == S.ACTIVE


def test_a_failed_renewal_runs_down_the_ladder_to_unpaid(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.update_payment_method(ctx(), account, "pm_insufficient_funds")
    due = app.subscription(sub_id).period_end
    seen = []
    at: datetime | None = due
    while at is not None:
        outcome = app.advance(ctx(at), sub_id, at)
        sub = app.subscription(sub_id)
        seen.append((outcome.actions, str(sub.status)))
        at = sub.next_action_at

    assert seen == [
        (("renew",), "past_due"),
        (("retry",), "past_due"),
        (("retry",), "past_due"),
        (("retry",), "unpaid"),
    ]
    assert app.subscription(sub_id).first_failed_at == due


def test_a_ladder_ending_in_cancellation_frees_the_account_for_a_new_subscription(gateway: MemoryGateway) -> None:
    app = a_app(gateway, DunningLadder((1,), "canceled"))
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.update_payment_method(ctx(), account, "pm_declined")
    due = app.subscription(sub_id).period_end

    app.advance(ctx(due), sub_id, due)
    app.advance(ctx(due + days(1)), sub_id, due + days(1))

    assert app.subscription(sub_id).status == S.CANCELED
    assert app.subscribe(ctx(), account, "free").id != sub_id


def test_a_subscription_missed_for_months_catches_up_period_by_period(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id

    outcome = app.advance(ctx(T0 + days(100)), sub_id, T0 + days(100))

    assert outcome.actions == ("renew", "renew", "renew")
    assert app.subscription(sub_id).period_end > T0 + days(100)


def test_a_free_subscription_years_behind_catches_up_in_one_write(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "free").id
    as_of = T0 + days(3 * 365)

    outcome = app.advance(ctx(as_of), sub_id, as_of)

    sub = app.subscription(sub_id)
    assert outcome.actions == ("renew",) and sub.period_start <= as_of < sub.period_end
    assert stream(app, sub_id).count("Renewed") == 1


def test_a_scheduled_cancellation_and_an_incomplete_expiry_happen_by_advance(app: SubscriptionsApplication) -> None:
    paying, never_paid = uuid4(), uuid4()
    paying_id = app.subscribe(ctx(), paying, "pro", "pm_ok").id
    app.cancel_subscription(ctx(), paying, at_period_end=True)
    never_id = app.subscribe(ctx(), never_paid, "pro", "pm_declined").id

    later = T0 + days(40)
    assert app.advance(ctx(later), paying_id, later).actions == ("cancel_at_period_end",)
    assert app.advance(ctx(later), never_id, later).actions == ("expire",)

    assert app.subscription(paying_id).status == S.CANCELED
    assert app.subscription(never_id).status == S.EXPIRED
    assert app.subscription_id_of(paying) == paying_id  # the latest, ended
    app.subscribe(ctx(), never_paid, "free")


def test_a_downgrade_applies_at_the_renewal_at_the_plans_price_then(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "business", "pm_ok").id
    app.change_subscription_plan(ctx(T0 + days(2)), account, "pro")
    app.change_plan_price(ctx(T0 + days(3)), "pro", Decimal("22.00"))
    assert app.subscription(sub_id).plan_code == "business"

    due = app.subscription(sub_id).period_end
    app.advance(ctx(due), sub_id, due)

    sub = app.subscription(sub_id)
    assert (sub.plan_code, sub.price, sub.status) == ("pro", Decimal("22.00"), S.ACTIVE)


# --- upgrades ----------------------------------------------------------------------------------------------------


def test_an_upgrade_charges_the_previewed_lines(app: SubscriptionsApplication, gateway: MemoryGateway) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    sub = app.subscription(sub_id)
    half = sub.period_start + (sub.period_end - sub.period_start) / 2

    preview = app.preview_plan_change(account, "business", half)
    app.change_subscription_plan(ctx(half), account, "business")

    assert sum(line.amount for line in preview) == Decimal("15.00")
    assert app.subscription(sub_id).plan_code == "business"
    assert gateway.charges(account)[-1].amount == Decimal("15.00")


def test_a_declined_upgrade_changes_nothing_and_a_retry_with_another_card_is_a_new_attempt(
    app: SubscriptionsApplication, gateway: MemoryGateway
) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "free").id
    app.update_payment_method(ctx(), account, "pm_declined")
    before = head(app)

    with pytest.raises(PaymentDeclined):
        app.change_subscription_plan(ctx(T0 + days(1)), account, "pro")
    assert head(app) == before and app.subscription(sub_id).plan_code == "free"

    app.update_payment_method(ctx(), account, "pm_ok")
    app.change_subscription_plan(ctx(T0 + days(1)), account, "pro")
    assert app.subscription(sub_id).plan_code == "pro"
    assert [c.status for c in gateway.charges(account)] == ["declined", "succeeded"]


class HeldGateway(MemoryGateway):
    """After ``hold_next()``, the next charge waits (at most 5 s) until ``go_on`` is set: its command is then
    between its load and its save."""

    def __init__(self) -> None:
        super().__init__()
        self.held = False
        self.charging = threading.Event()
        self.go_on = threading.Event()

    def hold_next(self) -> None:
        self.held = True

    def charge(self, attempt_id: UUID, account_id: UUID, amount: Decimal, currency: str, payment_method: str) -> Charge:
        if self.held:
            self.held = False
            self.charging.set()
            self.go_on.wait(5)
        return super().charge(attempt_id, account_id, amount, currency, payment_method)


def test_of_two_racing_upgrades_to_two_plans_each_charge_is_for_a_change_that_applies() -> None:
    # Both loaded the subscription on pro before either saved: the second must decide on the first's plan,
    # not be charged for a change that its lost save then drops (it was, before subscriptions took a lock).
    gateway = HeldGateway()
    app = a_app(gateway)
    app.create_plan(ctx(), code="team", name="Team", price=Decimal("80.00"), currency="USD", interval="month")
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    half = app.subscription(sub_id).period_start + days(15)
    outcomes: dict[str, object] = {}
    gateway.hold_next()

    def upgrade(plan: str) -> None:
        try:
            outcomes[plan] = app.change_subscription_plan(ctx(half), account, plan)
        except DomainError as error:
            outcomes[plan] = error

    first = threading.Thread(target=upgrade, args=("business",))
    first.start()
    assert gateway.charging.wait(5)
    second = threading.Thread(target=upgrade, args=("team",))
    second.start()
    second.join(0.5)  # without the lock it charges and saves in this time; with it, it waits
    gateway.go_on.set()
    first.join(10)
    second.join(10)

    sub = app.subscription(sub_id)
    events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(sub_id)]
    paid = {e.attempt_id for e in events if isinstance(e, Subscription.PaymentSucceeded)}
    assert all(isinstance(o, CommandResult) for o in outcomes.values()), outcomes
    assert sub.plan_code == "team"  # business first, then team on top of it
    assert {c.attempt_id for c in gateway.charges(account)} == paid  # no charge without its change
    assert len(paid) == 3  # the first period's, then one for each upgrade


# --- webhooks -----------------------------------------------------------------------------------------------------


def test_a_webhook_settles_a_pending_payment_once(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_pending").id
    sub = app.subscription(sub_id)
    assert sub.status == S.INCOMPLETE and sub.pending_attempt_id is not None
    attempt = sub.pending_attempt_id

    applied = app.apply_gateway_event(ctx(), "offline", "evt_1", "payment_succeeded", attempt)
    position = head(app)
    replayed = app.apply_gateway_event(ctx(), "offline", "evt_1", "payment_succeeded", attempt)
    another = app.apply_gateway_event(ctx(), "offline", "evt_2", "payment_failed", attempt, "declined")

    assert (applied.duplicate, applied.changed) == (False, True)
    assert (replayed.duplicate, replayed.changed, replayed.result) == (True, False, None)
    assert (another.duplicate, another.changed) == (False, False)
    assert head(app) == position + 1  # only the second event's id was kept
    assert app.subscription(sub_id).status == S.ACTIVE


def test_every_write_of_a_subscription_waits_for_a_command_holding_its_lock(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_pending").id
    attempt = app.subscription(sub_id).pending_attempt_id
    assert attempt is not None
    later = uuid4()  # a second account's subscription, started under its id's lock
    writes = {
        "start": lambda: app.subscribe(ctx(), uuid4(), "pro", "pm_ok", subscription_id=later),
        "webhook": lambda: app.apply_gateway_event(ctx(), "offline", "evt_1", "payment_succeeded", attempt),
        "payment method": lambda: app.update_payment_method(ctx(), account, "pm_ok"),
        "cancel": lambda: app.cancel_subscription(ctx(), account, at_period_end=True),
        "revoke": lambda: app.revoke_cancellation(ctx(), account),
        "advance": lambda: app.advance(ctx(), sub_id, T0),
        "closing": lambda: app.end_for_closed_account(ctx(), account),
    }
    for name, write in writes.items():
        order: list[str] = []
        held = threading.Event()

        def holder(held: threading.Event, order: list[str], key: UUID) -> None:
            with app.locks.hold(key):
                held.set()
                time.sleep(0.1)
                order.append("holder")

        thread = threading.Thread(target=holder, args=(held, order, later if name == "start" else sub_id))
        thread.start()
        assert held.wait(5)
        write()
        order.append(name)
        thread.join(5)
        assert order == ["holder", name]


def test_a_failed_pending_renewal_starts_the_dunning(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.update_payment_method(ctx(), account, "pm_pending")
    due = app.subscription(sub_id).period_end
    app.advance(ctx(due), sub_id, due)
    attempt = app.subscription(sub_id).pending_attempt_id
    assert attempt is not None

    app.apply_gateway_event(ctx(due + days(0.5)), "offline", "evt_9", "payment_failed", attempt, "insufficient_funds")

    sub = app.subscription(sub_id)
    assert sub.status == S.PAST_DUE and sub.next_retry_at == due + days(1.5)


@pytest.mark.parametrize(
    ("provider", "event_id", "kind", "error"),
    [
        ("offline", "evt", "payment_refunded", InvalidGatewayEvent),
        ("", "evt", "payment_succeeded", InvalidGatewayEvent),
        ("offline", "", "payment_succeeded", InvalidGatewayEvent),
        ("offline", "evt", "payment_succeeded", UnknownPaymentAttempt),
    ],
)
def test_a_webhook_the_application_cannot_read_is_refused(
    app: SubscriptionsApplication, provider: str, event_id: str, kind: str, error: type[DomainError]
) -> None:
    with pytest.raises(error):
        app.apply_gateway_event(ctx(), provider, event_id, kind, uuid4())


# --- the free-plan policy -------------------------------------------------------------------------------------------


def registered(account_id: UUID) -> Account.Registered:
    account = Account.register(
        account_id=account_id, email=f"{account_id.hex}@example.com", profile=a_profile(), password_hash="h", now=T0
    )
    event = account.collect_events()[0]
    assert isinstance(event, Account.Registered)
    return event


def test_the_policy_subscribes_a_new_account_to_free_once_however_often_it_runs(app: SubscriptionsApplication) -> None:
    account = uuid4()
    event = registered(account)
    policy = FreePlanPolicy(app, [Account.Registered])
    assert policy.wants("domain.accounts.account:Account.Registered")

    policy.process(event, None, {})
    position = head(app)
    FreePlanPolicy(app, [Account.Registered]).process(event, None, {})  # a replay, or a second copy

    sub = app.subscription_of(account)
    assert (sub.id, sub.plan_code, sub.status, sub.period_start) == (
        free_subscription_id(account),
        "free",
        S.ACTIVE,
        T0,
    )
    assert head(app) == position


def test_the_policy_leaves_an_account_that_already_subscribed(app: SubscriptionsApplication) -> None:
    account = uuid4()
    paid = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.cancel_subscription(ctx(), account, at_period_end=False)

    FreePlanPolicy(app, [Account.Registered]).process(registered(account), None, {})

    assert app.subscription_id_of(account) == paid


def test_subscriptions_snapshot_and_reload_equal(app: SubscriptionsApplication) -> None:
    account = uuid4()
    sub_id = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.take_snapshot(sub_id)
    app.take_snapshot(Plan.id_for("pro"))

    assert app.repository.get(sub_id) == app.subscription(sub_id)
    assert isinstance(app.subscription(sub_id), Subscription)


# --- the closed-accounts policy ------------------------------------------------------------------------


def closed(account_id: UUID, at: datetime) -> Account.Closed:
    account = Account.register(
        account_id=account_id, email=f"{account_id.hex}@example.com", profile=a_profile(), password_hash="h", now=T0
    )
    account.close(reason="leaving", by_owner=True, now=at)
    event = account.collect_events()[-1]
    assert isinstance(event, Account.Closed)
    return event


def test_closing_an_account_ends_its_paid_subscription_now_and_frees_its_slot_once(
    app: SubscriptionsApplication, gateway: MemoryGateway
) -> None:
    account = uuid4()
    paid = app.subscribe(ctx(), account, "pro", "pm_ok").id
    app.cancel_subscription(ctx(), account, at_period_end=True)  # whatever was scheduled, it ends at the closing
    charges = [(c.attempt_id, c.requests) for c in gateway.charges(account)]
    policy = ClosedAccountsPolicy(app, [Account.Closed])
    assert policy.wants("domain.accounts.account:Account.Closed")
    event = closed(account, T0 + days(3))

    policy.process(event, None, {"correlation_id": "close-request"})
    position = head(app)
    ClosedAccountsPolicy(app, [Account.Closed]).process(event, None, {})  # a replay, or a second copy

    sub = app.subscription(paid)
    assert (sub.status, sub.ended_at) == (S.CANCELED, T0 + days(3))
    assert head(app) == position and [(c.attempt_id, c.requests) for c in gateway.charges(account)] == charges
    canceled = app.recorder.select_events(paid)[-1]
    assert app.mapper.to_domain_event(canceled).reason == "account_closed"
    metadata = app.mapper.to_event_and_metadata(canceled)[1]
    assert (metadata["correlation_id"], metadata["causation_id"]) == (
        "close-request",
        f"{account}:{event.originator_version}",
    )
    assert app.subscribe(ctx(), account, "pro", "pm_ok").id != paid  # the slot was given back


def test_the_closed_accounts_policy_leaves_an_ended_subscription_and_keeps_the_free_plan_off_a_closed_account(
    app: SubscriptionsApplication,
) -> None:
    never = uuid4()
    ended = uuid4()
    app.subscribe(ctx(), ended, "pro", "pm_ok")
    app.cancel_subscription(ctx(), ended, at_period_end=False)
    position = head(app)

    policy = ClosedAccountsPolicy(app, [Account.Closed])
    policy.process(closed(ended, T0), None, {})
    assert head(app) == position

    # The closing came to the policy before the registration came to the free-plan policy (they follow the
    # log apart): the slot is opened empty, and the free plan then starts nothing for the closed account.
    policy.process(closed(never, T0), None, {})
    FreePlanPolicy(app, [Account.Registered]).process(registered(never), None, {})
    policy.process(closed(never, T0), None, {})  # a replay
    assert head(app) == position + 1
    with pytest.raises(SubscriptionNotFound):
        app.subscription_of(never)


def test_the_free_plan_carries_the_registrations_correlation_and_cause(app: SubscriptionsApplication) -> None:
    account = uuid4()
    event = registered(account)

    FreePlanPolicy(app, [Account.Registered]).process(event, None, {"correlation_id": "register-request"})

    started = app.recorder.select_events(free_subscription_id(account))[0]
    metadata = app.mapper.to_event_and_metadata(started)[1]
    assert (metadata["correlation_id"], metadata["causation_id"]) == ("register-request", f"{account}:1")
