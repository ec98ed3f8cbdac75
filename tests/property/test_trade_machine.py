"""Random command sequences against a Trade (open, partial closes, a full close, cancel, illegal moves), checked
against an exact model after every step; the trade rebuilt from its events (in memory, and through the event
store, which snapshots every three events) equals the live one."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.shared.errors import DomainError
from domain.trades.errors import CloseExceedsPosition, InvalidTrade, TradeNotOpen, TradePartlyClosed
from domain.trades.trade import Trade
from tests.property.replay import Recorder, rebuild, run_command
from tests.property.trade_model import TradeModel, exact
from tests.unit.builders import ACCOUNT_ID, NOW

TRADE_ID = UUID(int=0x7EADE)


def amounts(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals from ``low`` to ``high`` units of 10**-places (at most 8 places, as the domain takes)."""
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-places))


prices = st.one_of(amounts(1, 10**9, 8), amounts(1, 10**7, 2), amounts(1, 10**5, 0))
fees = st.one_of(st.just(Decimal(0)), amounts(1, 10**6, 4), amounts(1, 10**9, 8))
# A part of what is held, in thousandths (rounded to 8 places), or more than is held.
parts = st.integers(1, 999)
bad_quantities = st.sampled_from([Decimal("0"), Decimal("-1"), Decimal("1e-9"), Decimal("NaN")])


class TradeMachine(RuleBasedStateMachine):
    trade: Trade
    model: TradeModel

    @initialize(
        side=st.sampled_from(["buy", "sell"]),
        quantity=st.one_of(amounts(1, 10**12, 8), amounts(1, 10**6, 0)),
        entry=prices,
        leverage=st.integers(1, 125),
        fee=fees,
    )
    def open(self, side: str, quantity: Decimal, entry: Decimal, leverage: int, fee: Decimal) -> None:
        self.recorder = Recorder()
        self.trade = Trade.open(
            trade_id=TRADE_ID,
            account_id=ACCOUNT_ID,
            symbol="BTC/USDT",
            side=side,
            quantity=quantity,
            entry_price=entry,
            leverage=leverage,
            market_type="crypto",
            fee=fee,
            now=NOW,
        )
        self.recorder.record(self.trade)
        self.model = TradeModel(side, exact(quantity), exact(entry), leverage, exact(fee))

    def refusal_for_close(self, quantity: Fraction) -> type[DomainError] | None:
        if self.model.status != "open":
            return TradeNotOpen
        return CloseExceedsPosition if quantity > self.model.remaining else None

    @rule(part=parts, exit_price=prices, fee=fees)
    def close_a_part(self, part: int, exit_price: Decimal, fee: Decimal) -> None:
        quantity = (self.trade.remaining_quantity * part / 1000).quantize(Decimal("1e-8"))
        if quantity <= 0:
            quantity = self.trade.remaining_quantity or Decimal("1")
        refusal = self.refusal_for_close(exact(quantity))

        def close() -> None:
            self.trade.close(quantity=quantity, exit_price=exit_price, fee=fee, now=NOW)

        if run_command(self.recorder, self.trade, refusal, close, Trade.Closed):
            self.model.close(exact(quantity), exact(exit_price), exact(fee))

    @rule(exit_price=prices, fee=fees)
    def close_the_rest(self, exit_price: Decimal, fee: Decimal) -> None:
        refusal = TradeNotOpen if self.model.status != "open" else None
        held = self.model.remaining

        def close() -> None:
            self.trade.close(quantity=None, exit_price=exit_price, fee=fee, now=NOW)

        if run_command(self.recorder, self.trade, refusal, close, Trade.Closed):
            self.model.close(held, exact(exit_price), exact(fee))

    @precondition(lambda self: self.model.status == "open")
    @rule(extra=amounts(1, 10**8, 8))
    def close_more_than_held(self, extra: Decimal) -> None:
        quantity = self.trade.remaining_quantity + extra
        if quantity > Decimal(10**9):
            return
        run_command(
            self.recorder,
            self.trade,
            CloseExceedsPosition,
            lambda: self.trade.close(quantity=quantity, exit_price=Decimal(1), fee=Decimal(0), now=NOW),
        )

    @precondition(lambda self: self.model.status == "open")
    @rule(quantity=bad_quantities)
    def close_a_bad_quantity(self, quantity: Decimal) -> None:
        run_command(
            self.recorder,
            self.trade,
            InvalidTrade,
            lambda: self.trade.close(quantity=quantity, exit_price=Decimal(1), fee=Decimal(0), now=NOW),
        )

    @rule()
    def cancel(self) -> None:
        refusal: type[DomainError] | None = None
        if self.model.status != "open":
            refusal = TradeNotOpen
        elif self.model.closes:
            refusal = TradePartlyClosed
        if run_command(self.recorder, self.trade, refusal, lambda: self.trade.cancel(now=NOW), Trade.Canceled):
            self.model.cancel()

    @invariant()
    def the_trade_agrees_with_the_model(self) -> None:
        t, m = self.trade, self.model
        assert (t.status, t.closes) == (m.status, m.closes)
        assert exact(t.remaining_quantity) == m.remaining
        assert exact(t.realized_pnl) == m.realized
        assert exact(t.entry_fee_allocated) == m.allocated
        assert (exact(t.margin), exact(t.cost)) == (m.margin, m.cost)

    @invariant()
    def each_entry_fee_share_is_within_a_unit_of_the_eighth_place_of_its_pro_rata_share(self) -> None:
        assert all(abs(share - pro_rata) <= Fraction(1, 10**8) for share, pro_rata in self.model.shares)
        if self.model.status == "closed":
            assert self.model.allocated == self.model.fee  # the shares add up to the entry fee exactly

    @invariant()
    def what_the_events_release_adds_up_to_what_was_taken(self) -> None:
        opened = self.recorder.events[0]
        released = [e for e in self.recorder.events[1:] if isinstance(e, Trade.Closed | Trade.Canceled)]
        cost = sum((e.cost_released for e in released), Decimal(0))
        margin = sum((e.margin_released for e in released), Decimal(0))
        assert opened.cost - cost == self.trade.cost
        assert opened.margin - margin == self.trade.margin

    @invariant()
    def the_trade_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.trade

    @invariant()
    def the_trade_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.trade) == self.trade


TradeMachine.TestCase.settings = settings(
    max_examples=75, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestTradeMachine = TradeMachine.TestCase
