"""Rate limits counted by the maintained ``limits`` library: in Redis when ``REDIS_URL`` is set, else in memory.

A limiter that cannot reach Redis lets requests through (availability first) and says so once
per outage; after a failure it skips Redis for a few seconds (a circuit breaker), so an outage
costs at most one short socket timeout every few seconds, not one per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from domain.shared.access import Role
from infrastructure.shared.breaker import Breaker
from infrastructure.shared.settings import Settings

log = logging.getLogger("chronicle.ratelimit")


@dataclass(frozen=True)
class Quota:
    """A named policy: ``amount`` requests per ``window`` seconds."""

    name: str
    amount: int
    window: int = 60

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.amount, self.window, namespace=self.name)


@dataclass(frozen=True)
class Usage:
    """One quota's state after a request: may it pass, how many remain, seconds until the window resets."""

    quota: Quota
    allowed: bool
    remaining: int
    reset_after: int


class AccountQuotas(Protocol):
    """How many requests an authenticated caller may make (``None``: unlimited). Swap it to read a plan."""

    def quota_for(self, account_id: UUID, roles: Sequence[str]) -> Quota | None: ...


class SettingsQuotas:
    """The default: one per-account quota from settings; admins are not limited."""

    def __init__(self, per_minute: int) -> None:
        self.quota = Quota("account", per_minute)

    def quota_for(self, account_id: UUID, roles: Sequence[str]) -> Quota | None:
        return None if Role.ADMIN in roles else self.quota


@dataclass(frozen=True)
class RequestQuotas:
    """The per-address policies: anonymous calls, and the stricter ones on credentials (per address, per email)."""

    anonymous: Quota
    credentials: Quota
    credentials_email: Quota

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestQuotas:
        return cls(
            anonymous=Quota("anonymous", settings.rate_limit_anonymous_per_minute),
            credentials=Quota("credentials", settings.rate_limit_credentials_per_minute),
            credentials_email=Quota("credentials-email", settings.rate_limit_credentials_email_per_minute),
        )


class RateLimiter:
    """Counts hits per (quota, identifiers) in a fixed window; fails open, with a circuit breaker."""

    def __init__(self, storage: Storage, breaker: Breaker) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self._breaker = breaker

    @classmethod
    def from_settings(cls, settings: Settings, breaker: Breaker) -> RateLimiter:
        if settings.redis_url:
            timeout = settings.redis_request_timeout_seconds
            storage: Storage = RedisStorage(
                settings.redis_url,
                key_prefix=settings.rate_limit_key_prefix,
                wrap_exceptions=True,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
        else:
            storage = MemoryStorage(wrap_exceptions=True)
        return cls(storage, breaker)

    def hit(self, quota: Quota, *identifiers: str) -> Usage | None:
        """Count one request against ``quota``; ``None`` when the counters cannot be reached (let it pass)."""
        if not self._breaker.closed:
            return None
        item = quota.item
        try:
            allowed = self._limiter.hit(item, *identifiers)
            stats = self._limiter.get_window_stats(item, *identifiers)
        except StorageError as error:
            cause = type(error.storage_error).__name__
            self._breaker.failed(cause, "rate limits are not enforced; requests are served")
            return None
        self._breaker.succeeded()
        reset_after = max(0, int(stats.reset_time - time.time() + 0.999))
        return Usage(quota, allowed, stats.remaining, reset_after)
