"""What the Flows application needs from other contexts: a desk that opens the trades its steps signal."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol
from uuid import UUID

from application.shared.commands import CommandContext


class TradeDesk(Protocol):
    """Opens a trade a flow's step signalled (implemented by the trades application; the root passes it in).

    Idempotent on ``trade_id`` (the flows side derives it from the run and the step): asked again
    with an id already opened, it answers that id and writes nothing. The caller's plan's
    ``trades_per_day`` applies; a refusal is the trades context's ``DomainError``.
    """

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
    ) -> UUID: ...


class RunQueue(Protocol):
    """Hands a run's next step to a worker (the jobs' queue: Celery where it runs, else this process).

    ``seen_version`` is the run's version when it is enqueued: a message delivered after the run has
    moved on (a copy of a redelivered message) does nothing. ``countdown``: not before that many seconds.
    """

    def advance_later(self, run_id: UUID, seen_version: int, countdown: float | None = None) -> None: ...
