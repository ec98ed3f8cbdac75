"""Trades on the real PostgreSQL: the plan's trades_per_day under 50 concurrent opens is exact (the quota stream
saved with each trade), an unlimited plan writes no quota, and a signal's trade is opened once however often
and however concurrently it is asked for."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid4

from application.shared.commands import CommandResult
from domain.shared.errors import DomainError
from domain.trades.errors import TradesPerDayReached
from domain.trades.quota import TradeQuota, quota_day, quota_id_for
from domain.trades.trade import Trade
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register

RACERS = 50
LIMIT = 10
T = TypeVar("T")


def race(count: int, attempt: Callable[[int], T]) -> list[T | Exception]:
    barrier = threading.Barrier(count)

    def run(i: int) -> T | Exception:
        barrier.wait(timeout=60)
        try:
            return attempt(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def open_one(container: Chronicle, clock: Clock, account: UUID) -> CommandResult:
    return container.trades.open_trade(
        context(clock, str(account)),
        account_id=account,
        symbol="BTC/USDT",
        side="buy",
        quantity=Decimal("0.1"),
        price=Decimal("60000"),
        leverage=10,
        market_type="crypto",
        fee=Decimal("0.6"),
    )


def stored_trades(container: Chronicle, account: UUID) -> list[UUID]:
    notifications = container.log.recorder.select_notifications(start=1, limit=100_000)
    opened = [n for n in notifications if n.topic.endswith("Trade.Opened")]
    return [n.originator_id for n in opened if container.trades.load(n.originator_id, Trade).account_id == account]


def test_fifty_concurrent_opens_against_a_limit_of_ten_open_exactly_ten(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container = make_container(free_plan_trades_per_day=LIMIT)
    account = register(container, clock, "racer@example.com")

    outcomes = race(RACERS, lambda _: open_one(container, clock, account))

    opened = [o for o in outcomes if isinstance(o, CommandResult)]
    refused = [o for o in outcomes if not isinstance(o, CommandResult)]
    assert len(opened) == LIMIT
    assert {type(error) for error in refused} == {TradesPerDayReached}
    assert all(isinstance(e, DomainError) and e.category == "conflict" for e in refused)
    assert sorted(stored_trades(container, account)) == sorted(o.id for o in opened)
    quota = container.trades.load(quota_id_for(account, quota_day(clock())), TradeQuota)
    assert quota.used == LIMIT
    # the next day has a quota of its own
    clock.advance(days=1)
    assert isinstance(open_one(container, clock, account), CommandResult)


def test_fifty_concurrent_opens_from_two_processes_applications_open_exactly_ten(
    make_container: ContainerFactory, clock: Clock
) -> None:
    """Two containers (what two API processes hold) race for one quota stream: the stream's version decides."""
    first = make_container(free_plan_trades_per_day=LIMIT)
    second = make_container(free_plan_trades_per_day=LIMIT)
    account = register(first, clock, "two-processes@example.com")

    outcomes = race(RACERS, lambda i: open_one((first, second)[i % 2], clock, account))

    opened = [o for o in outcomes if isinstance(o, CommandResult)]
    assert len(opened) == LIMIT
    assert {type(o) for o in outcomes if not isinstance(o, CommandResult)} == {TradesPerDayReached}
    assert sorted(stored_trades(first, account)) == sorted(o.id for o in opened)
    lost = first.trades.quota_races_lost + second.trades.quota_races_lost
    assert lost > 0, "the two applications never raced for the quota: the test did not test the race"


def test_an_unlimited_plan_opens_every_concurrent_trade_and_writes_no_quota(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container = make_container(free_plan_trades_per_day=None)
    account = register(container, clock, "unlimited@example.com")

    outcomes = race(RACERS, lambda _: open_one(container, clock, account))

    assert all(isinstance(o, CommandResult) for o in outcomes), {type(o) for o in outcomes}
    assert len(stored_trades(container, account)) == RACERS
    assert not container.trades.existing([quota_id_for(account, quota_day(clock()))])


def test_one_signal_asked_for_concurrently_opens_one_trade_and_every_caller_gets_its_id(
    make_container: ContainerFactory, clock: Clock
) -> None:
    container = make_container(free_plan_trades_per_day=LIMIT)
    account = register(container, clock, "signals@example.com")
    trade_id, flow_id, run_id = uuid4(), uuid4(), uuid4()

    def signal(_: int) -> UUID:
        return container.trades.open_signal_trade(
            context(clock, "flow-worker"),
            trade_id=trade_id,
            account_id=account,
            symbol="EUR/USD",
            side="sell",
            quantity=Decimal("1000"),
            price=Decimal("1.08"),
            leverage=30,
            market_type="forex",
            flow_id=flow_id,
            run_id=run_id,
            agent="rule",
        )

    outcomes = race(20, signal)

    assert Counter(outcomes) == {trade_id: 20}
    assert stored_trades(container, account) == [trade_id]
    trade = container.trades.load(trade_id, Trade)
    assert (trade.flow_id, trade.run_id, trade.agent, trade.fee) == (flow_id, run_id, "rule", Decimal(0))
    quota = container.trades.load(quota_id_for(account, quota_day(clock())), TradeQuota)
    assert quota.used == 1
    assert signal(0) == trade_id  # asked again later: nothing written
    assert container.trades.load(trade_id, Trade).version == 1
