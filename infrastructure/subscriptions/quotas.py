"""Rate limits from the caller's plan: its ``requests_per_minute``; admins are unlimited, and a plan that sets
none gets the server's default per-account quota (``RATE_LIMIT_ACCOUNT_PER_MINUTE``), never no limit at all.

Each account's quota is cached for a few seconds (``PLAN_LIMITS_CACHE_SECONDS``) so a request costs no
read-store query most of the time, while a change of plan or of the plan's limits is felt within that time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from uuid import UUID

from application.shared.ports import Entitlements
from domain.shared.access import Role
from infrastructure.shared.ratelimit import Quota

REQUESTS_PER_MINUTE = "requests_per_minute"
# The quota's name is what RateLimit-Policy shows; the plan's figure is its amount (a new amount starts a new count).
QUOTA_NAME = "account"


class PlanQuotas:
    """``AccountQuotas`` read from each account's live plan, through the ``Entitlements`` port."""

    def __init__(
        self,
        entitlements: Entitlements,
        default: Quota,
        ttl_seconds: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entitlements = entitlements
        self._default = default
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[UUID, tuple[float, Quota | None]] = OrderedDict()
        self._lock = threading.Lock()

    def quota_for(self, account_id: UUID, roles: Sequence[str]) -> Quota | None:
        """None for admins; else the plan's quota, read at most every ``ttl_seconds`` per account."""
        if Role.ADMIN in roles:
            return None
        now = self._clock()
        with self._lock:
            cached = self._cache.get(account_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        per_minute = self._entitlements.limits_for(account_id).limit(REQUESTS_PER_MINUTE)
        quota = self._default if per_minute is None else Quota(QUOTA_NAME, per_minute)
        if self._ttl > 0:
            with self._lock:
                self._cache[account_id] = (now + self._ttl, quota)
                self._cache.move_to_end(account_id)
                while len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        return quota
