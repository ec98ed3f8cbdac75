"""The Trades application over the in-memory store, with the plan's limits given by a stub of the port:
the day's quota, unlimited plans, signals opened once, ownership, and marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.shared.commands import CommandContext
from application.shared.ports import PlanEntitlements
from application.trades.application import TradesApplication
from domain.shared.errors import VersionMismatch
from domain.shared.unique_key import UniqueKey
from domain.trades.errors import InvalidTrade, TradeIdTaken, TradeNotFound, TradesPerDayReached
from domain.trades.mark import Mark, mark_id_for
from domain.trades.quota import TradeQuota, quota_id_for
from domain.trades.trade import Trade

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
ALICE, BOB = UUID(int=0xA11CE), UUID(int=0xB0B)


@dataclass
class Plans:
    """The ``Entitlements`` port: each account's limits as the test sets them."""

    limits: dict[UUID, dict[str, int]] = field(default_factory=dict)
    asked: list[UUID] = field(default_factory=list)

    def limits_for(self, account_id: UUID) -> PlanEntitlements:
        self.asked.append(account_id)
        return PlanEntitlements("test", self.limits.get(account_id, {}))


def ctx(at: datetime = NOW) -> CommandContext:
    return CommandContext(actor="test", correlation_id=str(uuid4()), causation_id="test", now=at)


@pytest.fixture
def plans() -> Plans:
    return Plans({ALICE: {"trades_per_day": 2}})


@pytest.fixture
def app(plans: Plans) -> TradesApplication:
    return TradesApplication(plans, env=POPO)


def open_for(app: TradesApplication, account: UUID, at: datetime = NOW, **terms: Any) -> UUID:
    values: dict[str, Any] = {
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": Decimal("1"),
        "price": Decimal("100"),
        "leverage": 2,
        "market_type": "crypto",
        **terms,
    }
    return app.open_trade(ctx(at), account_id=account, **values).id


def signal(app: TradesApplication, trade_id: UUID, account: UUID = ALICE) -> UUID:
    return app.open_signal_trade(
        ctx(),
        trade_id=trade_id,
        account_id=account,
        symbol="ETH/USDT",
        side="sell",
        quantity=Decimal("2"),
        price=Decimal("3000"),
        leverage=5,
        market_type="crypto",
        flow_id=UUID(int=1),
        run_id=UUID(int=2),
        agent="rule",
    )


def test_given_a_limit_of_two_when_a_third_trade_is_opened_that_day_then_it_is_refused(
    app: TradesApplication, plans: Plans
) -> None:
    open_for(app, ALICE)
    open_for(app, ALICE)

    with pytest.raises(TradesPerDayReached):
        open_for(app, ALICE)

    assert app.load(quota_id_for(ALICE, NOW.date()), TradeQuota).used == 2
    assert plans.asked == [ALICE] * 3  # the limit is the plan's, asked at each open


def test_given_a_day_used_up_when_the_utc_day_turns_then_trades_open_again(app: TradesApplication) -> None:
    open_for(app, ALICE)
    open_for(app, ALICE)
    tomorrow = NOW + timedelta(hours=1)  # 00:00 UTC on 2 December

    open_for(app, ALICE, tomorrow)

    assert app.load(quota_id_for(ALICE, tomorrow.date()), TradeQuota).used == 1


def test_given_a_canceled_trade_when_the_day_is_counted_then_it_still_counts(app: TradesApplication) -> None:
    first = open_for(app, ALICE)
    app.cancel_trade(ctx(), first, account_id=ALICE)
    open_for(app, ALICE)
    with pytest.raises(TradesPerDayReached):
        open_for(app, ALICE)


def test_given_a_plan_without_the_limit_when_trades_open_then_no_quota_stream_is_written(
    app: TradesApplication,
) -> None:
    for _ in range(5):
        open_for(app, BOB)
    assert not app.existing([quota_id_for(BOB, NOW.date())])


def test_given_a_limit_of_zero_when_a_trade_is_opened_then_it_is_refused(app: TradesApplication, plans: Plans) -> None:
    plans.limits[BOB] = {"trades_per_day": 0}
    with pytest.raises(TradesPerDayReached):
        open_for(app, BOB)


def test_given_invalid_terms_when_opened_then_nothing_is_written(app: TradesApplication) -> None:
    with pytest.raises(InvalidTrade):
        open_for(app, ALICE, symbol="nope")
    assert not app.existing([quota_id_for(ALICE, NOW.date())])


def test_given_a_signal_when_asked_again_then_its_id_is_answered_and_nothing_is_written(
    app: TradesApplication,
) -> None:
    trade_id = uuid4()

    assert signal(app, trade_id) == trade_id
    assert signal(app, trade_id) == trade_id

    trade = app.load(trade_id, Trade)
    assert (trade.version, trade.flow_id, trade.run_id, trade.agent) == (1, UUID(int=1), UUID(int=2), "rule")
    assert app.load(quota_id_for(ALICE, NOW.date()), TradeQuota).used == 1


def test_given_signals_when_the_limit_is_reached_then_the_next_new_signal_is_refused(app: TradesApplication) -> None:
    signal(app, uuid4())
    signal(app, uuid4())
    with pytest.raises(TradesPerDayReached):
        signal(app, uuid4())


def test_given_a_signal_id_of_another_account_or_another_stream_then_it_is_refused(app: TradesApplication) -> None:
    taken = uuid4()
    signal(app, taken, BOB)
    with pytest.raises(TradeIdTaken):
        signal(app, taken, ALICE)
    key = UniqueKey.claim(scope="test", key="k", owner_id=ALICE, now=NOW)
    app.record(ctx(), key)
    with pytest.raises(TradeIdTaken):
        signal(app, key.id)


def test_given_another_accounts_trade_when_acted_on_then_it_is_not_found(app: TradesApplication) -> None:
    bobs = open_for(app, BOB)
    with pytest.raises(TradeNotFound):
        app.close_trade(ctx(), bobs, account_id=ALICE, price=Decimal("1"))
    with pytest.raises(TradeNotFound):
        app.cancel_trade(ctx(), bobs, account_id=ALICE)
    with pytest.raises(TradeNotFound):
        app.cancel_trade(ctx(), uuid4(), account_id=ALICE)
    assert app.load(bobs, Trade).version == 1


def test_given_a_stale_version_when_closed_then_it_is_refused(app: TradesApplication) -> None:
    trade_id = open_for(app, BOB, quantity=Decimal("2"))
    app.close_trade(ctx(), trade_id, account_id=BOB, price=Decimal("101"), quantity=Decimal("1"))
    with pytest.raises(VersionMismatch):
        app.close_trade(ctx(), trade_id, account_id=BOB, price=Decimal("101"), expected_version=1)
    result = app.close_trade(
        ctx(), trade_id, account_id=BOB, price=Decimal("99"), fee=Decimal("0.1"), expected_version=2
    )
    assert result.version == 3
    assert app.load(trade_id, Trade).realized_pnl == Decimal("-0.1")  # +1 - 1 - 0.1


def test_marks_record_then_move_one_stream_per_symbol(app: TradesApplication) -> None:
    app.record_mark(ctx(), symbol="BTC/USDT", price=Decimal("62000"))
    moved = app.record_mark(ctx(), symbol="BTC/USDT", price=Decimal("61000"))
    assert (moved.id, moved.version) == (mark_id_for("BTC/USDT"), 2)
    assert app.load(mark_id_for("BTC/USDT"), Mark).price == Decimal("61000")


class Interrupted(TradesApplication):
    """Lets another application on the same log open a trade for the account between this one's load of the
    quota and its save, once: the save then loses the race for the quota stream."""

    rival: TradesApplication | None = None

    def _quota(self, account_id: UUID, day: Any, ctx: CommandContext) -> TradeQuota:
        quota = super()._quota(account_id, day, ctx)
        rival, self.rival = self.rival, None
        if rival is not None:
            open_for(rival, account_id)
        return quota


def test_given_an_open_that_loses_the_race_for_the_quota_then_it_reloads_and_decides_again(plans: Plans) -> None:
    log = TradesApplication(plans, env=POPO)
    app = Interrupted(plans, shares_log_with=log)
    app.rival = TradesApplication(plans, shares_log_with=log)

    open_for(app, ALICE)

    assert app.quota_races_lost == 1
    assert app.load(quota_id_for(ALICE, NOW.date()), TradeQuota).used == 2


def test_given_the_last_trade_of_the_day_taken_by_a_rival_then_the_reloaded_decision_refuses(plans: Plans) -> None:
    log = TradesApplication(plans, env=POPO)
    app = Interrupted(plans, shares_log_with=log)
    open_for(app, ALICE)
    app.rival = TradesApplication(plans, shares_log_with=log)

    with pytest.raises(TradesPerDayReached):
        open_for(app, ALICE)  # it saw one of two used; the rival took the second meanwhile

    assert (app.quota_races_lost, app.load(quota_id_for(ALICE, NOW.date()), TradeQuota).used) == (1, 2)


def test_open_signal_trade_has_exactly_the_signature_of_the_flows_trade_desk() -> None:
    import inspect

    from application.flows.ports import TradeDesk

    desk = inspect.signature(TradeDesk.open_signal_trade)
    ours = inspect.signature(TradesApplication.open_signal_trade)
    assert [(p.name, p.kind, p.annotation) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.annotation) for p in desk.parameters.values()
    ]
    assert ours.return_annotation == desk.return_annotation


@dataclass
class AskingPlans(Plans):
    """Plans that run ``meanwhile`` once, when first asked (between the signal's check and its open)."""

    meanwhile: list[Any] = field(default_factory=list)

    def limits_for(self, account_id: UUID) -> PlanEntitlements:
        while self.meanwhile:
            self.meanwhile.pop()()
        return super().limits_for(account_id)


@pytest.mark.parametrize(
    ("limit", "rival_limited"),
    [
        (1, True),  # the rival took the day's last trade: this call's reload is refused, yet answers the id
        (5, True),  # the rival took the quota's next version: this call's save conflicts
        (5, False),  # the rival wrote no quota: this call's save conflicts on the trade id itself
    ],
)
def test_given_the_same_signal_opened_meanwhile_then_its_id_is_answered_and_nothing_more_written(
    limit: int, rival_limited: bool
) -> None:
    plans = AskingPlans({ALICE: {"trades_per_day": limit}})
    log = TradesApplication(plans, env=POPO)
    app = TradesApplication(plans, shares_log_with=log)
    rival = TradesApplication(plans if rival_limited else Plans(), shares_log_with=log)
    trade_id = uuid4()
    plans.meanwhile.append(lambda: signal(rival, trade_id))

    assert signal(app, trade_id) == trade_id

    assert app.load(trade_id, Trade).version == 1
    quota_id = quota_id_for(ALICE, NOW.date())
    used = app.load(quota_id, TradeQuota).used if app.existing([quota_id]) else 0
    assert used == (1 if rival_limited else 0)  # the rival's count only
