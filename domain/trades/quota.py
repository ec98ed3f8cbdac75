"""TradeQuota: the trades one account opened on one UTC day, counted at append time.

Its id follows from the account and the day, and it is saved in the same atomic save as the trade
it counts: two opens racing for the last trade of the day both write the same next version of
this stream, so only one of them commits (the other reloads and decides again). The limit is the
plan's ``trades_per_day`` when the open is decided; a canceled trade still counts (it was opened).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.trades.errors import TradesPerDayReached

_QUOTA_NAMESPACE: Final = uuid5(NAMESPACE_URL, "chronicle:trade-quota")


def quota_day(now: datetime) -> date:
    """The UTC day a moment falls on (the day a plan's ``trades_per_day`` counts in)."""
    return now.astimezone(UTC).date()


def quota_id_for(account_id: UUID, day: date) -> UUID:
    return uuid5(_QUOTA_NAMESPACE, f"{account_id}:{day.isoformat()}")


class TradeQuota(Aggregate):
    """How many trades an account opened on a UTC day."""

    class Started(Aggregate.Created):
        account_id: UUID
        day: date

    class Used(Aggregate.Event):
        trade_id: UUID

        def apply(self, quota: TradeQuota) -> None:
            quota.used += 1

    def __init__(self, account_id: UUID, day: date) -> None:
        self.account_id = account_id
        self.day = day
        self.used = 0

    @classmethod
    def start(cls, *, account_id: UUID, day: date, now: datetime) -> TradeQuota:
        return cls._create(cls.Started, id=quota_id_for(account_id, day), timestamp=now, account_id=account_id, day=day)

    def use(self, trade_id: UUID, *, limit: int, now: datetime) -> None:
        """Count one more trade, unless ``limit`` trades were opened on this day already."""
        if self.used >= limit:
            raise TradesPerDayReached(f"{self.used} of {limit} trades opened on {self.day.isoformat()} (UTC)")
        self.trigger_event(self.Used, timestamp=now, trade_id=trade_id)
