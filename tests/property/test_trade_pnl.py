"""Properties of the trades' figures over random histories:
- realized P&L by average cost equals an exact model over random sequences of partial closes;
- the positions read model's fold (its projection, over an in-memory view) holds, per symbol and side, the
  sum of the open trades' quantities, costs, margins and unallocated entry fees; the query's net quantity is
  long minus short; the P&L fold's sums are the trades' realized P&L."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.trades.trade import Trade
from infrastructure.trades.queries import _position
from projections.trades.pnl import REALIZED, PnlProjection
from projections.trades.positions import COST, ENTRY_FEE, MARGIN, QUANTITY, TRADES, PositionsProjection
from tests.property.trade_model import TradeModel, exact
from tests.unit.builders import NOW

SYMBOLS = ("BTC/USDT", "ETH/USDT", "EUR/USD")
ACCOUNTS = (UUID(int=1), UUID(int=2))
BOUNDED = settings(max_examples=75, deadline=None)

amounts = st.integers(1, 10**10).map(lambda n: Decimal(n).scaleb(-4))
fees = st.integers(0, 10**7).map(lambda n: Decimal(n).scaleb(-6))
# A close: what part of the held quantity (per mille; 1000 closes the rest), at what price, with what fee.
closes = st.lists(st.tuples(st.integers(1, 1000), amounts, fees), max_size=6)


def open_trade(n: int, side: str, quantity: Decimal, price: Decimal, leverage: int, fee: Decimal, **at: Any) -> Trade:
    return Trade.open(
        trade_id=UUID(int=1000 + n),
        account_id=at.get("account", ACCOUNTS[0]),
        symbol=at.get("symbol", SYMBOLS[0]),
        side=side,
        quantity=quantity,
        entry_price=price,
        leverage=leverage,
        market_type="crypto",
        fee=fee,
        now=at.get("now", NOW),
    )


def part_of(trade: Trade, per_mille: int) -> Decimal | None:
    if per_mille == 1000:
        return None
    part = (trade.remaining_quantity * per_mille / 1000).quantize(Decimal("1e-8"))
    return part if 0 < part < trade.remaining_quantity else None


@BOUNDED
@given(
    side=st.sampled_from(["buy", "sell"]),
    quantity=amounts,
    price=amounts,
    leverage=st.integers(1, 125),
    fee=fees,
    steps=closes,
)
def test_realized_pnl_by_average_cost_equals_the_exact_model(
    side: str, quantity: Decimal, price: Decimal, leverage: int, fee: Decimal, steps: list[Any]
) -> None:
    trade = open_trade(0, side, quantity, price, leverage, fee)
    model = TradeModel(side, exact(quantity), exact(price), leverage, exact(fee))
    sells: list[tuple[Fraction, Fraction]] = []
    for per_mille, exit_price, exit_fee in steps:
        if trade.status != "open":
            break
        part = part_of(trade, per_mille)
        held = trade.remaining_quantity if part is None else part
        trade.close(quantity=part, exit_price=exit_price, fee=exit_fee, now=NOW)
        sells.append((exact(held), exact(exit_price)))
        (closed,) = trade.collect_events()[-1:]
        assert exact(closed.realized_pnl) == model.close(exact(held), exact(exit_price), exact(exit_fee))
    assert exact(trade.realized_pnl) == model.realized
    if trade.status == "closed":
        # every figure's one rounding aside, the whole trade realized its gross less every fee
        sign = 1 if side == "buy" else -1
        gross = sum((sign * (p - exact(price)) * q for q, p in sells), Fraction(0))
        assert abs(model.realized - (gross - exact(fee) - model.exit_fees)) <= Fraction(len(sells), 2 * 10**8)


class MemoryPositions:
    """The positions view in memory: counters summed, a counter back at zero removed (as the SQL view does)."""

    def __init__(self) -> None:
        self.values: dict[tuple[UUID, str, str, str], Decimal] = defaultdict(Decimal)

    def bump(self, account_id: UUID, symbol: str, side: str, metric: str, delta: Decimal) -> None:
        key = (account_id, symbol, side, metric)
        self.values[key] += delta
        if self.values[key] == 0:
            del self.values[key]


class MemoryPnl:
    def __init__(self) -> None:
        self.values: dict[tuple[UUID, date, str, str], Decimal] = defaultdict(Decimal)

    def bump(self, account_id: UUID, day: date, symbol: str, metric: str, delta: Decimal) -> None:
        self.values[account_id, day, symbol, metric] += delta


trades_strategy = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from(SYMBOLS),
        st.sampled_from(["buy", "sell"]),
        amounts,
        amounts,
        st.integers(1, 125),
        fees,
        closes,
        st.booleans(),  # cancel it (when nothing was closed)
    ),
    min_size=1,
    max_size=8,
)


@BOUNDED
@given(specs=trades_strategy, days=st.integers(0, 3))
def test_positions_are_the_sums_of_the_open_trades_and_pnl_the_sums_of_the_closes(specs: list[Any], days: int) -> None:
    positions, pnl = MemoryPositions(), MemoryPnl()
    folds = ((PositionsProjection(), positions), (PnlProjection(), pnl))
    made: list[Trade] = []
    events: list[Any] = []
    for n, (account, symbol, side, quantity, price, leverage, fee, steps, cancel) in enumerate(specs):
        trade = open_trade(n, side, quantity, price, leverage, fee, account=account, symbol=symbol)
        for i, (per_mille, exit_price, exit_fee) in enumerate(steps):
            if trade.status == "open":
                at = NOW + timedelta(days=min(i, days))
                trade.close(quantity=part_of(trade, per_mille), exit_price=exit_price, fee=exit_fee, now=at)
        if cancel and trade.status == "open" and not trade.closes:
            trade.cancel(now=NOW)
        events += trade.collect_events()
        made.append(trade)
    # events of different trades interleave in the log; each trade's stay in order
    for event in sorted(events, key=lambda e: (e.originator_version, str(e.originator_id))):
        for projection, view in folds:
            projection.process(event, view, {})

    expected: dict[tuple[UUID, str, str, str], Decimal] = defaultdict(Decimal)
    for t in made:
        if t.status == "open":
            figures = {QUANTITY: t.remaining_quantity, COST: t.cost, MARGIN: t.margin}
            figures |= {ENTRY_FEE: t.unallocated_entry_fee, TRADES: Decimal(1)}
            for metric, value in figures.items():
                expected[t.account_id, t.symbol, t.side, metric] += value
    assert positions.values == {key: value for key, value in expected.items() if value}

    for account in ACCOUNTS:
        for symbol in SYMBOLS:
            sides: dict[str, dict[str, Decimal]] = defaultdict(dict)
            for (a, s, side, metric), value in positions.values.items():
                if (a, s) == (account, symbol):
                    sides[side][metric] = value
            held = [t for t in made if (t.account_id, t.symbol, t.status) == (account, symbol, "open")]
            net = sum((t.remaining_quantity * (1 if t.side == "buy" else -1) for t in held), Decimal(0))
            assert _position(symbol, sides, None)["net_quantity"] == net

    realized = defaultdict(Decimal)
    for (account, _, _, metric), value in pnl.values.items():
        if metric == REALIZED:
            realized[account] += value
    for account in ACCOUNTS:
        assert realized[account] == sum((t.realized_pnl for t in made if t.account_id == account), Decimal(0))
