"""Rate limits in fixed windows: counted in Redis when ``REDIS_URL`` is set (every API process shares the
counts), else in this process's memory (the embedded store's single process).

One request's count is one Redis round trip: the window's key is created with its expiry if it is new,
incremented, and its remaining time read, in one MULTI/EXEC. A window starts at its first request and
lasts the quota's window; the key names the quota's amount and window, so a changed quota starts afresh.

A limiter that cannot reach Redis lets requests through (availability first) and says so once
per outage; after a failure it skips Redis for a few seconds (a circuit breaker), so an outage
costs at most one short socket timeout every few seconds, not one per request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.shared.access import Role
from infrastructure.shared.breaker import Breaker
from infrastructure.shared.sealing import derive_key
from infrastructure.shared.settings import Settings

# Redis holds a window's key as a keyed hash: never the client's address or the email a login names.
WINDOW_KEY_INFO = b"chronicle/ratelimit/window-key/v1"

log = logging.getLogger("chronicle.ratelimit")


@dataclass(frozen=True)
class Quota:
    """A named policy: ``amount`` requests per ``window`` seconds."""

    name: str
    amount: int
    window: int = 60

    def key(self, identifiers: Sequence[str]) -> str:
        return f"{self.name}/{self.amount}/{self.window}/{'/'.join(identifiers)}"


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


class Windows(Protocol):
    """Fixed-window counters: ``count`` adds one request to ``key``'s window (opened for ``window`` seconds by
    its first request) and answers the window's count and the seconds until it ends."""

    def count(self, key: str, window: int) -> tuple[int, float]: ...


class MemoryWindows:
    """This process's counters. Ended windows are dropped as they are met and swept now and then, so the
    table holds about one window's worth of keys; no timer thread."""

    SWEEP_EVERY = 1024

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._since_sweep = 0

    def count(self, key: str, window: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            seen, ends = self._windows.get(key, (0, 0.0))
            if ends <= now:
                seen, ends = 0, now + window
            self._windows[key] = (seen + 1, ends)
            self._since_sweep += 1
            if self._since_sweep >= self.SWEEP_EVERY:
                self._since_sweep = 0
                self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        return seen + 1, ends - now

    def __len__(self) -> int:
        return len(self._windows)


class RedisWindows:
    """Counters every API process shares: SET NX with the window's expiry, INCR, PTTL, in one MULTI/EXEC.

    A window is stored under an HMAC of its key (``secret``, the same in every process): the identifiers it
    counts (client addresses, the emails logins name) never reach Redis."""

    def __init__(self, client: Callable[[], Any], prefix: str, secret: bytes) -> None:
        self._client = client
        self._prefix = prefix
        self._secret = secret

    def name(self, key: str) -> str:
        return f"{self._prefix}:{hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()}"

    def count(self, key: str, window: int) -> tuple[int, float]:
        name = self.name(key)
        pipe = self._client().pipeline(transaction=True)
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        pipe.pttl(name)
        _, seen, remaining_ms = pipe.execute()
        return int(seen), (remaining_ms / 1000 if remaining_ms >= 0 else float(window))


class RateLimiter:
    """Counts hits per (quota, identifiers) in a fixed window; fails open, with a circuit breaker."""

    def __init__(self, windows: Windows, breaker: Breaker) -> None:
        self._windows = windows
        self._breaker = breaker

    @classmethod
    def from_settings(cls, settings: Settings, breaker: Breaker, client: Callable[[], Any]) -> RateLimiter:
        """Redis (``client``: the request-path client, short timeouts) when ``REDIS_URL`` is set, else memory."""
        if settings.redis_url:
            secret = derive_key(settings.signing_secret(), WINDOW_KEY_INFO)
            return cls(RedisWindows(client, settings.rate_limit_key_prefix, secret), breaker)
        return cls(MemoryWindows(), breaker)

    def hit(self, quota: Quota, *identifiers: str) -> Usage | None:
        """Count one request against ``quota``; ``None`` when the counters cannot be reached (let it pass)."""
        counted = self._breaker.attempt(
            lambda: self._windows.count(quota.key(identifiers), quota.window),
            lambda: None,
            "rate limits are not enforced; requests are served",
        )
        if counted is None:
            return None
        seen, left = counted
        return Usage(quota, seen <= quota.amount, max(0, quota.amount - seen), max(0, math.ceil(left)))
