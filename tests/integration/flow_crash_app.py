"""The production Celery app for the flows crash tests, with one hook: a trade desk that holds after it opened.

``celery -A tests.integration.flow_crash_app worker`` builds Chronicle from the environment exactly as
``interfaces.worker`` does, except that the flows' trade desk is the real trades application wrapped:
after the trades application has saved a signal's trade (and before the step's completion can be
recorded) the wrapper counts the call in Redis (``flowcrash:desk:<trade id>``) and, the first time for
that trade and while ``flowcrash:hold`` is set, sleeps ``FLOW_CRASH_HOLD_SECONDS``: the window in which
a test SIGKILLs the worker "while a trade-signal step is being recorded".
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any
from uuid import UUID

import redis
from celery import Celery

from application.shared.commands import CommandContext
from application.trades.application import TradesApplication
from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.jobs import Jobs, JobSource, celery_app
from infrastructure.shared.platform import utc_now
from infrastructure.shared.settings import Settings

HOLD_KEY = "flowcrash:hold"


def desk_calls_key(trade_id: UUID) -> str:
    return f"flowcrash:desk:{trade_id}"


class HoldingDesk:
    """The trades application as the flows' ``TradeDesk``, holding once per trade after the open is saved."""

    def __init__(self, counts: redis.Redis, hold_seconds: float) -> None:
        self.counts = counts
        self.hold_seconds = hold_seconds
        self.trades: TradesApplication | None = None

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
        assert self.trades is not None, "the desk is used before the root is open"
        opened = self.trades.open_signal_trade(
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
        if self.counts.incr(desk_calls_key(trade_id)) == 1 and self.counts.exists(HOLD_KEY):
            time.sleep(self.hold_seconds)
        return opened


def crash_app() -> Celery:
    settings = Settings()
    counts = redis.Redis.from_url(os.environ["FLOW_CRASH_REDIS_URL"])
    desk = HoldingDesk(counts, float(os.environ.get("FLOW_CRASH_HOLD_SECONDS", "30")))
    opened: list[Chronicle] = []

    def open_jobs() -> Jobs:
        chronicle = Chronicle(settings, clock=utc_now, adapters=Adapters(trade_desk=desk))
        chronicle.open()
        desk.trades = chronicle.trades
        opened.append(chronicle)
        return chronicle.jobs

    def close() -> None:
        while opened:
            opened.pop().close()

    return celery_app(settings, JobSource(open_jobs, close))


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(name)
    return crash_app()
