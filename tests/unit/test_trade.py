"""The Trade aggregate, given / when / then: opening with valid terms only, closing in parts with P&L by average
cost net of fees, margin from leverage, canceling, and every illegal move a named error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from domain.shared.errors import Category, DomainError
from domain.trades.errors import CloseExceedsPosition, InvalidMark, InvalidTrade, TradeNotOpen, TradePartlyClosed
from domain.trades.mark import Mark, mark_id_for
from domain.trades.quota import TradeQuota, quota_day, quota_id_for
from domain.trades.trade import Trade
from domain.trades.values import TradeStatus

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TRADE_ID = UUID("00000000-0000-4000-8000-0000000000d1")
ACCOUNT_ID = UUID("00000000-0000-4000-8000-000000000001")
D = Decimal


def a_trade(**terms: Any) -> Trade:
    values: dict[str, Any] = {
        "trade_id": TRADE_ID,
        "account_id": ACCOUNT_ID,
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": D("3"),
        "entry_price": D("100"),
        "leverage": 3,
        "market_type": "crypto",
        "fee": D("1"),
        "now": NOW,
        **terms,
    }
    trade = Trade.open(**values)
    trade.collect_events()
    return trade


def closed_events(trade: Trade) -> list[Trade.Closed]:
    return [e for e in trade.collect_events() if isinstance(e, Trade.Closed)]


def test_given_valid_terms_when_opened_then_it_holds_them_with_its_cost_and_margin() -> None:
    trade = Trade.open(
        trade_id=TRADE_ID,
        account_id=ACCOUNT_ID,
        symbol="EUR/USD",
        side="sell",
        quantity=D("1000"),
        entry_price=D("1.0845"),
        leverage=30,
        market_type="forex",
        fee=D("0.25"),
        now=NOW,
        agent="rule",
    )
    (opened,) = trade.collect_events()
    assert isinstance(opened, Trade.Opened)
    assert (opened.cost, opened.margin) == (D("1084.5"), D("36.15000000"))
    assert (trade.status, trade.remaining_quantity, trade.agent) == (TradeStatus.OPEN, D("1000"), "rule")


@pytest.mark.parametrize(
    "terms",
    [
        {"symbol": "btc/usdt"},
        {"symbol": "BTCUSDT"},
        {"symbol": "B/USDT"},
        {"symbol": "ABCDEFGHIJK/USD"},
        {"symbol": "BTC/USDT/X"},
        {"side": "long"},
        {"quantity": D("0")},
        {"quantity": D("-1")},
        {"quantity": D("0.000000001")},
        {"quantity": D("1000000000.1")},
        {"quantity": D("NaN")},
        {"entry_price": D("0")},
        {"entry_price": D("Infinity")},
        {"leverage": 0},
        {"leverage": 126},
        {"leverage": True},
        {"market_type": "stocks"},
        {"fee": D("-0.01")},
        {"agent": ""},
        {"agent": "bad agent"},
    ],
)
def test_given_invalid_terms_when_opened_then_it_is_refused_as_invalid(terms: dict[str, Any]) -> None:
    with pytest.raises(InvalidTrade) as refused:
        a_trade(**terms)
    assert refused.value.category is Category.INVALID


def test_given_an_open_buy_when_part_is_closed_higher_then_the_gain_is_net_of_its_fee_share_and_the_exit_fee() -> None:
    trade = a_trade()

    trade.close(quantity=D("1"), exit_price=D("110"), fee=D("0.5"), now=NOW)

    (closed,) = closed_events(trade)
    assert closed.entry_fee_share == D("0.33333333")
    assert closed.realized_pnl == D("9.16666667")  # 10 - 0.33333333 - 0.5
    assert (closed.cost_released, closed.margin_released) == (D("100"), D("33.33333333"))
    assert (trade.status, trade.remaining_quantity, trade.margin) == (TradeStatus.OPEN, D("2"), D("66.66666667"))


def test_given_a_partly_closed_trade_when_the_rest_is_closed_then_the_fees_add_up_exactly() -> None:
    trade = a_trade()
    trade.close(quantity=D("1"), exit_price=D("110"), fee=D("0.5"), now=NOW)

    trade.close(quantity=None, exit_price=D("90"), fee=D("0.5"), now=NOW + timedelta(hours=1))

    assert trade.status == TradeStatus.CLOSED
    assert trade.entry_fee_allocated == D("1")
    assert trade.realized_pnl == D("-12")  # +10 - 20 - entry fee 1 - exit fees 1
    assert trade.margin == 0 and trade.ended_at == NOW + timedelta(hours=1)


def test_given_a_sell_when_closed_lower_then_it_gains_and_leverage_does_not_change_the_pnl() -> None:
    low, high = a_trade(side="sell", leverage=1, fee=D(0)), a_trade(side="sell", leverage=125, fee=D(0))

    for trade in (low, high):
        trade.close(quantity=None, exit_price=D("95.5"), fee=D(0), now=NOW)

    assert low.realized_pnl == high.realized_pnl == D("13.5")


def test_given_an_open_trade_when_more_than_it_holds_is_closed_then_it_is_refused_as_a_conflict() -> None:
    trade = a_trade()
    with pytest.raises(CloseExceedsPosition) as refused:
        trade.close(quantity=D("3.00000001"), exit_price=D("1"), fee=D(0), now=NOW)
    assert refused.value.category is Category.CONFLICT
    assert trade.collect_events() == []


@pytest.mark.parametrize("bad", [{"quantity": D(0)}, {"exit_price": D(0)}, {"fee": D(-1)}, {"exit_price": D("1e-9")}])
def test_given_an_open_trade_when_closed_with_bad_terms_then_it_is_refused_as_invalid(bad: dict[str, Any]) -> None:
    trade = a_trade()
    terms: dict[str, Any] = {"quantity": D(1), "exit_price": D(100), "fee": D(0), **bad}
    with pytest.raises(InvalidTrade):
        trade.close(now=NOW, **terms)


def test_given_an_untouched_trade_when_canceled_then_it_releases_everything_and_realizes_nothing() -> None:
    trade = a_trade()

    trade.cancel(now=NOW)

    (canceled,) = trade.collect_events()
    assert isinstance(canceled, Trade.Canceled)
    assert (canceled.cost_released, canceled.margin_released, canceled.entry_fee_released) == (
        D("300"),
        D("100"),
        D("1"),
    )
    assert (trade.status, trade.realized_pnl, trade.remaining_quantity) == (TradeStatus.CANCELED, 0, 0)


def test_given_a_partly_closed_trade_when_canceled_then_it_is_refused() -> None:
    trade = a_trade()
    trade.close(quantity=D("1"), exit_price=D("100"), fee=D(0), now=NOW)
    with pytest.raises(TradePartlyClosed):
        trade.cancel(now=NOW)


@pytest.mark.parametrize("end", ["close", "cancel"])
def test_given_an_ended_trade_when_anything_is_asked_then_it_is_not_open(end: str) -> None:
    trade = a_trade()
    if end == "close":
        trade.close(quantity=None, exit_price=D("100"), fee=D(0), now=NOW)
    else:
        trade.cancel(now=NOW)
    trade.collect_events()
    with pytest.raises(TradeNotOpen):
        trade.close(quantity=None, exit_price=D("100"), fee=D(0), now=NOW)
    with pytest.raises(TradeNotOpen):
        trade.cancel(now=NOW)
    assert trade.collect_events() == []


def test_given_a_limit_when_the_quota_is_used_up_then_the_next_trade_of_the_day_is_refused() -> None:
    quota = TradeQuota.start(account_id=ACCOUNT_ID, day=quota_day(NOW), now=NOW)
    for n in range(2):
        quota.use(UUID(int=n), limit=2, now=NOW)
    with pytest.raises(DomainError) as refused:
        quota.use(UUID(int=3), limit=2, now=NOW)
    assert refused.value.code == "trades_per_day_reached" and quota.used == 2
    assert (
        quota.id == quota_id_for(ACCOUNT_ID, NOW.date()) != quota_id_for(ACCOUNT_ID, (NOW + timedelta(days=1)).date())
    )


def test_the_quota_day_is_the_utc_day() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert quota_day(late).isoformat() == "2026-12-01"


def test_a_mark_is_one_stream_per_symbol_and_refuses_bad_prices() -> None:
    mark = Mark.record(symbol="BTC/USDT", price=D("62000"), now=NOW)
    mark.move(D("61000.5"), now=NOW)
    assert (mark.id, mark.price) == (mark_id_for("BTC/USDT"), D("61000.5"))
    with pytest.raises(InvalidMark):
        mark.move(D("0"), now=NOW)
    with pytest.raises(InvalidMark):
        Mark.record(symbol="btc", price=D("1"), now=NOW)
