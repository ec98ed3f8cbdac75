"""The Trade aggregate: a position opened on a symbol, closed in full or in parts, or canceled while untouched.

Invariants:
- the terms are valid when it opens (``values``): a BASE/QUOTE symbol, buy or sell, quantity and entry
  price above zero, leverage 1 to 125, crypto or forex, a fee of zero or more, 8 places at most;
- a close takes at most what is still held, at an exit price above zero, with its own fee; the trade
  is closed when nothing is held; closed and canceled trades accept no command;
- a trade can be canceled only while open and before any part of it was closed.

P&L, by average cost (a trade has one entry price, so the closed part's cost is its quantity at it):
- a close of ``q`` at ``exit`` realizes ``round8(side * (exit - entry) * q) - entry_fee_share - exit_fee``,
  where ``side`` is +1 for a buy and -1 for a sell; the exit fee counts in full, and the entry fee is
  allocated pro rata to the closed quantity: the part of it not yet allocated is always
  ``round8(entry_fee * held / quantity)``, and a close's ``entry_fee_share`` is what that part goes
  down by (within 0.00000001 of ``entry_fee * q / quantity``; the shares add up to the entry fee
  exactly, the close that ends the trade taking the rest);
- leverage sets the margin (``round8(held * entry / leverage)``), never the P&L;
- a canceled trade realizes nothing (its entry fee is released, not charged: nothing was traded).

Every close carries what it releases from the position (cost, margin, unallocated entry fee) as the
difference between the figures before and after it, so the read models' counters only add and come
back to zero exactly when the trade is done.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.trades.errors import CloseExceedsPosition, TradeNotOpen, TradePartlyClosed
from domain.trades.values import (
    Side,
    TradeStatus,
    check_agent,
    check_amount,
    check_leverage,
    check_market_type,
    check_side,
    check_symbol,
    exact,
    margin_of,
    notional_of,
    round_amount,
    share,
)


class Trade(Aggregate):
    """One account's trade, from its open to its last close or its cancel."""

    class Opened(Aggregate.Created):
        account_id: UUID
        symbol: str
        side: str
        quantity: Decimal
        entry_price: Decimal
        leverage: int
        market_type: str
        fee: Decimal
        flow_id: UUID | None
        run_id: UUID | None
        agent: str | None
        cost: Decimal  # round8(quantity * entry price)
        margin: Decimal  # round8(quantity * entry price / leverage)

    class Closed(Aggregate.Event):
        """A close of ``quantity`` (a part, or the rest: ``remaining_quantity`` says what is still held)."""

        account_id: UUID
        symbol: str
        side: str
        quantity: Decimal
        exit_price: Decimal
        fee: Decimal
        entry_fee_share: Decimal
        realized_pnl: Decimal
        cost_released: Decimal
        margin_released: Decimal
        remaining_quantity: Decimal

        def apply(self, trade: Trade) -> None:
            trade.remaining_quantity = self.remaining_quantity
            trade.closed_quantity += self.quantity
            trade.entry_fee_allocated += self.entry_fee_share
            trade.exit_fees += self.fee
            trade.realized_pnl += self.realized_pnl
            trade.closes += 1
            if self.remaining_quantity == 0:
                trade.status = TradeStatus.CLOSED.value
                trade.ended_at = self.timestamp

    class Canceled(Aggregate.Event):
        account_id: UUID
        symbol: str
        side: str
        quantity: Decimal
        cost_released: Decimal
        margin_released: Decimal
        entry_fee_released: Decimal

        def apply(self, trade: Trade) -> None:
            trade.status = TradeStatus.CANCELED.value
            trade.remaining_quantity = Decimal(0)
            trade.ended_at = self.timestamp

    def __init__(
        self,
        account_id: UUID,
        symbol: str,
        side: str,
        quantity: Decimal,
        entry_price: Decimal,
        leverage: int,
        market_type: str,
        fee: Decimal,
        flow_id: UUID | None,
        run_id: UUID | None,
        agent: str | None,
        cost: Decimal,
        margin: Decimal,
    ) -> None:
        self.account_id = account_id
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.entry_price = entry_price
        self.leverage = leverage
        self.market_type = market_type
        self.fee = fee
        self.flow_id = flow_id
        self.run_id = run_id
        self.agent = agent
        self.status = TradeStatus.OPEN.value
        self.remaining_quantity = quantity
        self.closed_quantity = Decimal(0)
        self.entry_fee_allocated = Decimal(0)
        self.exit_fees = Decimal(0)
        self.realized_pnl = Decimal(0)
        self.closes = 0
        self.ended_at: datetime | None = None

    # --- figures -----------------------------------------------------------------------------

    @property
    def margin(self) -> Decimal:
        """The margin the part still held takes: notional / leverage."""
        return margin_of(self.remaining_quantity, self.entry_price, self.leverage)

    @property
    def cost(self) -> Decimal:
        """The part still held at its entry price (what an average entry is computed from)."""
        return notional_of(self.remaining_quantity, self.entry_price)

    @property
    def unallocated_entry_fee(self) -> Decimal:
        """The entry fee not yet charged to a close: the held part's pro rata share of it."""
        return share(self.fee, self.remaining_quantity, self.quantity)

    # --- commands ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        trade_id: UUID,
        account_id: UUID,
        symbol: str,
        side: str,
        quantity: Decimal,
        entry_price: Decimal,
        leverage: int,
        market_type: str,
        fee: Decimal,
        now: datetime,
        flow_id: UUID | None = None,
        run_id: UUID | None = None,
        agent: str | None = None,
    ) -> Trade:
        symbol = check_symbol(symbol)
        chosen_side = check_side(side)
        quantity = check_amount(quantity, "quantity")
        entry_price = check_amount(entry_price, "entry price")
        leverage = check_leverage(leverage)
        market = check_market_type(market_type)
        fee = check_amount(fee, "fee", zero=True)
        agent = check_agent(agent)
        return cls._create(
            cls.Opened,
            id=trade_id,
            timestamp=now,
            account_id=account_id,
            symbol=symbol,
            side=chosen_side.value,
            quantity=quantity,
            entry_price=entry_price,
            leverage=leverage,
            market_type=market.value,
            fee=fee,
            flow_id=flow_id,
            run_id=run_id,
            agent=agent,
            cost=notional_of(quantity, entry_price),
            margin=margin_of(quantity, entry_price, leverage),
        )

    def close(self, *, quantity: Decimal | None, exit_price: Decimal, fee: Decimal, now: datetime) -> None:
        """Close ``quantity`` (None: all that is held) at ``exit_price``, paying ``fee``."""
        self._check_open()
        held = self.remaining_quantity
        quantity = held if quantity is None else check_amount(quantity, "quantity")
        exit_price = check_amount(exit_price, "exit price")
        fee = check_amount(fee, "fee", zero=True)
        if quantity > held:
            raise CloseExceedsPosition(f"The trade holds {held}; {quantity} cannot be closed")
        remaining = exact(held - quantity)
        fee_before, cost_before, margin_before = self.unallocated_entry_fee, self.cost, self.margin
        fee_after = share(self.fee, remaining, self.quantity)
        entry_fee_share = fee_before - fee_after
        gross = round_amount(Side(self.side).sign * (exit_price - self.entry_price) * quantity)
        self.trigger_event(
            self.Closed,
            timestamp=now,
            account_id=self.account_id,
            symbol=self.symbol,
            side=self.side,
            quantity=quantity,
            exit_price=exit_price,
            fee=fee,
            entry_fee_share=entry_fee_share,
            realized_pnl=gross - entry_fee_share - fee,
            cost_released=cost_before - notional_of(remaining, self.entry_price),
            margin_released=margin_before - margin_of(remaining, self.entry_price, self.leverage),
            remaining_quantity=remaining,
        )

    def cancel(self, *, now: datetime) -> None:
        """Cancel an open trade none of which was closed: it realizes nothing and releases what it held."""
        self._check_open()
        if self.closes:
            raise TradePartlyClosed(f"{self.closed_quantity} of the trade was closed already")
        self.trigger_event(
            self.Canceled,
            timestamp=now,
            account_id=self.account_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.remaining_quantity,
            cost_released=self.cost,
            margin_released=self.margin,
            entry_fee_released=self.unallocated_entry_fee,
        )

    def _check_open(self) -> None:
        if self.status != TradeStatus.OPEN.value:
            raise TradeNotOpen(f"The trade is {self.status}")
