"""Subscriptions on the real PostgreSQL: racing subscribes, racing and repeated renewals, the durable
offline gateway, and the free-plan policy replayed and restarted."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid4

from sqlalchemy import delete

from application.shared.commands import CommandResult
from application.subscriptions.application import AdvanceOutcome, free_subscription_id
from application.subscriptions.ports import PaymentGateway
from domain.shared.errors import DomainError
from domain.subscriptions.errors import AlreadySubscribed
from domain.subscriptions.subscription import S, Subscription, attempt_id_for
from infrastructure.root import Chronicle
from infrastructure.shared.readstore import projection_tracking
from infrastructure.subscriptions.gateway import SqlOfflineGateway
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register

RACERS = 20
T = TypeVar("T")


def race(count: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    """``attempt(i)`` from ``count`` threads released at once; each one's answer or error."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T | Exception:
        barrier.wait(timeout=60)
        try:
            return attempt(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def topics(container: Chronicle, suffix: str, originator: UUID | None = None) -> int:
    notifications = container.log.recorder.select_notifications(start=1, limit=100_000)
    return sum(
        1 for n in notifications if n.topic.endswith(suffix) and (originator is None or n.originator_id == originator)
    )


def with_pro_plan(container: Chronicle, clock: Clock) -> None:
    container.subscriptions.ensure_free_plan(context(clock))
    container.subscriptions.create_plan(
        context(clock), code="pro", name="Pro", price=Decimal("20.00"), currency="USD", interval="month"
    )


def test_twenty_concurrent_subscribes_for_one_account_leave_exactly_one_live_and_charge_only_it(
    container: Chronicle, clock: Clock
) -> None:
    with_pro_plan(container, clock)
    account = uuid4()
    subs = container.subscriptions

    def subscribe(i: int) -> CommandResult:
        plan, token = ("pro", "pm_ok") if i % 2 else ("free", None)
        return subs.subscribe(context(clock), account, plan, token)

    outcomes = race(RACERS, subscribe)

    winners = [o for o in outcomes if isinstance(o, CommandResult)]
    losers = [o for o in outcomes if not isinstance(o, CommandResult)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, AlreadySubscribed) for o in losers), [type(o).__name__ for o in losers]
    assert topics(container, "Subscription.Started") == 1
    live = subs.subscription_of(account)
    assert live.id == winners[0].id and live.status == S.ACTIVE
    gateway = container.services[PaymentGateway]
    assert isinstance(gateway, SqlOfflineGateway)
    charges = gateway.charges(account)
    assert len(charges) == (1 if live.plan_code == "pro" else 0)


def test_renewals_racing_and_repeated_write_once_and_charge_once(
    make_container: ContainerFactory, clock: Clock
) -> None:
    first, second = make_container(), make_container()  # two processes: an API and a worker, say
    with_pro_plan(first, clock)
    account = uuid4()
    sub_id = first.subscriptions.subscribe(context(clock), account, "pro", "pm_ok").id
    due = first.subscriptions.subscription(sub_id).period_end
    apps = [first.subscriptions, second.subscriptions]

    outcomes = race(8, lambda i: apps[i % 2].advance(context(clock), sub_id, due))
    again = second.subscriptions.advance(context(clock), sub_id, due)

    assert all(isinstance(o, AdvanceOutcome) for o in outcomes), outcomes
    written = [o for o in outcomes if isinstance(o, AdvanceOutcome) and o.written]
    assert len(written) == 1 and written[0].actions == ("renew",)
    assert not again.written
    assert topics(first, "Subscription.Renewed", sub_id) == 1
    charges = {c.attempt_id: c for c in SqlOfflineGateway(first.read_engine).charges(account)}
    renewal = attempt_id_for(sub_id, due.isoformat(), 1)
    assert len(charges) == 2  # the first payment and the renewal, each once
    assert 1 <= charges[renewal].requests <= 8
    assert first.subscriptions.subscription(sub_id).period_start == due


def test_the_offline_gateway_answers_a_second_process_what_it_answered_the_first(
    make_container: ContainerFactory,
) -> None:
    one, other = make_container(), make_container()
    gateway_a, gateway_b = SqlOfflineGateway(one.read_engine), SqlOfflineGateway(other.read_engine)
    attempt, account = uuid4(), uuid4()

    first = gateway_a.charge(attempt, account, Decimal("20.00"), "USD", "pm_declined")
    second = gateway_b.charge(attempt, account, Decimal("20.00"), "USD", "pm_ok")  # a retry with the same id

    assert first == second and first.status == "declined"
    [charge] = gateway_b.charges(account)
    assert (charge.requests, charge.amount, charge.status) == (2, Decimal("20.0000"), "declined")


def test_the_free_plan_policy_subscribes_each_new_account_once_replayed_and_after_a_restart(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container = make_container()
    container.subscriptions.ensure_free_plan(context(clock))
    accounts = [register(container, clock, f"free{i}@example.com") for i in range(3)]
    policy = container.runners["free_plan"]

    policy.catch_up()
    started = topics(container, "Subscription.Started")
    policy.reset()  # the same log again, from the start
    policy.catch_up()
    assert topics(container, "Subscription.Started") == started == 3

    with container.write_engine.begin() as conn:  # a crash before the position was stored
        conn.execute(delete(projection_tracking).where(projection_tracking.c.name == "free_plan"))
    restarted = make_container()
    restarted.runners["free_plan"].catch_up()

    assert topics(restarted, "Subscription.Started") == 3
    for account in accounts:
        sub = restarted.subscriptions.subscription_of(account)
        assert (sub.id, sub.plan_code, sub.status) == (free_subscription_id(account), "free", S.ACTIVE)


def test_the_free_plan_exists_after_start_and_a_second_start_keeps_it(
    make_container: ContainerFactory, clock: Clock
) -> None:
    first = make_container()
    first.start(run_projections=False)
    free = first.subscriptions.plan("free")
    second = make_container()
    second.start(run_projections=False)

    assert second.subscriptions.plan("free").version == free.version == 1
    assert topics(second, "Plan.Created") == 1


def test_one_webhook_delivered_eight_times_at_once_is_applied_once(container: Chronicle, clock: Clock) -> None:
    with_pro_plan(container, clock)
    account = uuid4()
    subs = container.subscriptions
    sub_id = subs.subscribe(context(clock), account, "pro", "pm_pending").id
    attempt = subs.subscription(sub_id).pending_attempt_id
    assert attempt is not None

    outcomes = race(
        8, lambda i: subs.apply_gateway_event(context(clock), "offline", "evt_42", "payment_succeeded", attempt)
    )

    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    applied = [o for o in outcomes if not isinstance(o, Exception) and not o.duplicate]
    assert len(applied) == 1 and applied[0].changed
    assert topics(container, "Subscription.PaymentSucceeded", sub_id) == 1
    assert subs.subscription(sub_id).status == S.ACTIVE


def test_racing_upgrades_to_two_plans_from_two_processes_charge_only_for_changes_that_apply(
    make_container: ContainerFactory, clock: Clock
) -> None:
    # Every racer loads the subscription on pro and is charged before it saves; without a lock held from the
    # load to the save, the losers' saves were refused after their charges were made.
    here, there = make_container(), make_container()
    with_pro_plan(here, clock)
    for code, price in (("business", "50.00"), ("team", "80.00")):
        here.subscriptions.create_plan(
            context(clock), code=code, name=code.title(), price=Decimal(price), currency="USD", interval="month"
        )
    account = uuid4()
    sub_id = here.subscriptions.subscribe(context(clock), account, "pro", "pm_ok").id

    def upgrade(i: int) -> CommandResult:
        container = (here, there)[i % 2]
        return container.subscriptions.change_subscription_plan(
            context(clock), account, ("business", "team")[i // 2 % 2]
        )

    outcomes = race(8, upgrade)

    assert not [o for o in outcomes if not isinstance(o, (CommandResult, DomainError))], outcomes
    events = [here.subscriptions.mapper.to_domain_event(s) for s in here.log.recorder.select_events(sub_id)]
    paid = {e.attempt_id for e in events if isinstance(e, Subscription.PaymentSucceeded)}
    gateway = here.services[PaymentGateway]
    assert isinstance(gateway, SqlOfflineGateway)
    charged = {c.attempt_id for c in gateway.charges(account)}
    assert charged == paid  # no charge without the change it paid for
    assert len(paid) >= 2  # the first period and at least one upgrade
