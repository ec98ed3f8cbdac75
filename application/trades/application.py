"""The Trades application: open, close and cancel trades, record mark prices, and open the trades flows signal.

A plan's ``trades_per_day`` is enforced at append time: the open saves the trade and the account's
quota stream for the UTC day (``TradeQuota``) in one atomic save, so of opens racing for the last
trade of a day exactly one commits; a lost race reloads the quota and decides again (at most
``QUOTA_ATTEMPTS`` times, with a short jittered wait between). Within one process the opens of one
account take turns on a lock, since they could only race each other; between processes the stream's
version decides. The limit comes from the ``Entitlements`` port when the open starts; an
unlimited plan (no ``trades_per_day``) writes no quota stream, so its opens never contend (a plan
made limited later in the day counts from that change on). Admins trade under their own plan like
everyone else: the limit belongs to the plan, and an exemption by role would be a second, hidden plan.

Ownership: a trade is acted on by its owner only; another account's trade answers ``TradeNotFound``
(the same as a missing one), so nothing tells a caller that it exists.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import ClassVar, Final
from uuid import UUID, uuid4

from eventsourcing.utils import EnvType

from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext, CommandResult
from application.shared.ports import Entitlements
from domain.shared.errors import ConcurrencyConflict, NotFound, VersionMismatch
from domain.trades.errors import QuotaContended, TradeIdTaken, TradeNotFound, TradesPerDayReached
from domain.trades.mark import Mark, mark_id_for
from domain.trades.quota import TradeQuota, quota_day, quota_id_for
from domain.trades.trade import Trade

TRADES_PER_DAY: Final = "trades_per_day"
# How often one open reloads the day's quota after losing a race for it before it gives up (409, retry).
# Each loss means another process's open of the same account committed (opens in one process take turns).
QUOTA_ATTEMPTS: Final = 25
QUOTA_BACKOFF_SECONDS: Final = 0.002  # the jittered wait after the n-th lost race is up to n times this
QUOTA_TURNS: Final = 64  # locks the accounts' quotas are spread over, in one process
MARK_ATTEMPTS: Final = 5


class TradesApplication(ChronicleApplication):
    """Commands of the Trades context: load, decide, save."""

    snapshotting_intervals: ClassVar = {Trade: 50, TradeQuota: 100, Mark: 100}

    def __init__(
        self,
        entitlements: Entitlements,
        env: EnvType | None = None,
        *,
        shares_log_with: ChronicleApplication | None = None,
    ) -> None:
        super().__init__(env, shares_log_with=shares_log_with)
        self.entitlements = entitlements
        self._quota_turns = [threading.Lock() for _ in range(QUOTA_TURNS)]
        self._counting = threading.Lock()
        self.quota_races_lost = 0  # opens that lost the race for their quota to another process (and retried)

    # --- opening -------------------------------------------------------------------------------

    def open_trade(
        self,
        ctx: CommandContext,
        *,
        account_id: UUID,
        symbol: str,
        side: str,
        quantity: Decimal,
        price: Decimal,
        leverage: int,
        market_type: str,
        fee: Decimal = Decimal(0),
        trade_id: UUID | None = None,
        flow_id: UUID | None = None,
        run_id: UUID | None = None,
        agent: str | None = None,
    ) -> CommandResult:
        """Open a trade for ``account_id`` (the caller) within its plan's ``trades_per_day``."""
        new_id = trade_id or uuid4()

        def build() -> Trade:
            return Trade.open(
                trade_id=new_id,
                account_id=account_id,
                symbol=symbol,
                side=side,
                quantity=quantity,
                entry_price=price,
                leverage=leverage,
                market_type=market_type,
                fee=fee,
                now=ctx.now,
                flow_id=flow_id,
                run_id=run_id,
                agent=agent,
            )

        return self._open(ctx, account_id, build)

    def open_signal_trade(
        self,
        ctx: CommandContext,
        *,
        trade_id: UUID,
        account_id: UUID,
        symbol: str,
        side: str,
        quantity: Decimal,
        price: Decimal,
        leverage: int,
        market_type: str,
        flow_id: UUID,
        run_id: UUID,
        agent: str,
    ) -> UUID:
        """The flows' ``TradeDesk``: open the trade a step signalled, once per ``trade_id``.

        Asked again with an id already opened (a resumed run), it answers the id and writes nothing;
        so too when another call opens the same id meanwhile (its save races this one's, or it took the
        day's last trade first). No fee: a signal names none.
        """
        if self._own_trade_exists(trade_id, account_id):
            return trade_id
        try:
            self.open_trade(
                ctx,
                trade_id=trade_id,
                account_id=account_id,
                symbol=symbol,
                side=side,
                quantity=quantity,
                price=price,
                leverage=leverage,
                market_type=market_type,
                flow_id=flow_id,
                run_id=run_id,
                agent=agent,
            )
        except (ConcurrencyConflict, TradesPerDayReached, QuotaContended):
            # Another call opened this very trade meanwhile (and may have taken the day's last trade with it).
            if not self._own_trade_exists(trade_id, account_id):
                raise
        return trade_id

    def _open(self, ctx: CommandContext, account_id: UUID, build: Callable[[], Trade]) -> CommandResult:
        limit = self.entitlements.limits_for(account_id).limit(TRADES_PER_DAY)
        if limit is None:
            return self.record(ctx, build())
        day = quota_day(ctx.now)
        quota_id = quota_id_for(account_id, day)
        # Opens of one account in this process take turns (they could only race each other); the
        # stream's version still decides between processes, and the loser reloads and decides again.
        turn = self._quota_turns[quota_id.int % QUOTA_TURNS]
        for attempt in range(QUOTA_ATTEMPTS):
            with turn:
                trade = build()  # built again on each attempt: a failed save has taken its events
                quota = self._quota(account_id, day, ctx)
                quota.use(trade.id, limit=limit, now=ctx.now)
                try:
                    return self.record(ctx, trade, quota)
                except ConcurrencyConflict:
                    if self.existing([trade.id]):
                        raise  # the trade's own id was taken meanwhile: not a quota race
                    with self._counting:
                        self.quota_races_lost += 1
            # Another process's open of this account took the quota's next version: wait a little, so
            # that racing processes spread out instead of colliding again at once.
            time.sleep(random.uniform(0, QUOTA_BACKOFF_SECONDS * (attempt + 1)))  # noqa: S311 - jitter, not a secret
        raise QuotaContended(f"The quota of {day.isoformat()} changed {QUOTA_ATTEMPTS} times during this open")

    def _quota(self, account_id: UUID, day: date, ctx: CommandContext) -> TradeQuota:
        try:
            return self.load(quota_id_for(account_id, day), TradeQuota)
        except NotFound:
            return TradeQuota.start(account_id=account_id, day=day, now=ctx.now)

    def _own_trade_exists(self, trade_id: UUID, account_id: UUID) -> bool:
        """Whether ``trade_id`` is a trade of ``account_id``; an id used by anything else is refused."""
        if not self.existing([trade_id]):
            return False
        try:
            trade = self.load(trade_id, Trade)
        except NotFound:
            raise TradeIdTaken(f"{trade_id} is not a trade") from None
        if trade.account_id != account_id:
            raise TradeIdTaken(f"{trade_id} is another account's trade")
        return True

    # --- closing and canceling ------------------------------------------------------------------

    def trade(self, trade_id: UUID, *, account_id: UUID) -> Trade:
        """``account_id``'s trade; another's is not found, as a missing one."""
        try:
            trade = self.load(trade_id, Trade)
        except NotFound:
            raise TradeNotFound(f"No trade with id {trade_id}") from None
        if trade.account_id != account_id:
            raise TradeNotFound(f"No trade with id {trade_id}")
        return trade

    def close_trade(
        self,
        ctx: CommandContext,
        trade_id: UUID,
        *,
        account_id: UUID,
        price: Decimal,
        quantity: Decimal | None = None,
        fee: Decimal = Decimal(0),
        expected_version: int | None = None,
    ) -> CommandResult:
        """Close ``quantity`` of the caller's trade (None: all of what it holds) at ``price``, paying ``fee``."""
        trade = self._owned(trade_id, account_id, expected_version)
        trade.close(quantity=quantity, exit_price=price, fee=fee, now=ctx.now)
        return self.record(ctx, trade)

    def cancel_trade(
        self, ctx: CommandContext, trade_id: UUID, *, account_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        trade = self._owned(trade_id, account_id, expected_version)
        trade.cancel(now=ctx.now)
        return self.record(ctx, trade)

    def _owned(self, trade_id: UUID, account_id: UUID, expected_version: int | None) -> Trade:
        trade = self.trade(trade_id, account_id=account_id)  # ownership before the version: no leak
        if expected_version is not None and trade.version != expected_version:
            raise VersionMismatch(expected_version, trade.version)
        return trade

    # --- marks ---------------------------------------------------------------------------------

    def record_mark(self, ctx: CommandContext, *, symbol: str, price: Decimal) -> CommandResult:
        """Record ``symbol``'s mark price (the last one recorded wins; a race reloads and records again)."""
        for _ in range(MARK_ATTEMPTS):
            try:
                mark = self.load(mark_id_for(symbol), Mark)
            except NotFound:
                mark = Mark.record(symbol=symbol, price=price, now=ctx.now)
            else:
                mark.move(price, now=ctx.now)
            try:
                return self.record(ctx, mark)
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(f"The mark of {symbol} changed {MARK_ATTEMPTS} times during this command")
