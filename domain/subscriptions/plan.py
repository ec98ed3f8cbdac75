"""The Plan aggregate: what a subscription buys (price, interval, trial, features and limits).

Invariants:
- the code is unique in any case: the plan's id is derived from the case-folded code, so two
  creations racing for one code write the first event of the same stream and only one succeeds;
- the price is a ``Decimal`` in the currency's minor unit, never negative; the free plan's is 0;
- limits name known limits with a whole number of at least 0 (an absent limit is unlimited);
  features are lower-case names;
- a retired plan takes no new subscription and no change; existing subscriptions run on;
- a price change reaches existing subscribers at their next renewal (the subscription keeps the
  price it was billed at until then); the interval and currency never change.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.subscriptions.errors import (
    FreePlanNotRetirable,
    FreePlanPriceFixed,
    InvalidPlan,
    PlanRetired,
    PlanUnchanged,
)
from domain.subscriptions.proration import check_currency, check_price

FREE_PLAN_CODE: Final = "free"
INTERVALS: Final = ("month", "year")
# The limits other contexts enforce; a plan without one of them is unlimited in it.
REQUESTS_PER_MINUTE: Final = "requests_per_minute"
TRADES_PER_DAY: Final = "trades_per_day"
ACTIVE_FLOWS: Final = "active_flows"
OPEN_WORK_ORDERS: Final = "open_work_orders"
LIMIT_NAMES: Final = frozenset({REQUESTS_PER_MINUTE, TRADES_PER_DAY, ACTIVE_FLOWS, OPEN_WORK_ORDERS})
# Capabilities a plan's features gate (the free plan has none).
BULK_IMPORT: Final = "bulk_import"
MAX_LIMIT: Final = 10**9
MAX_TRIAL_DAYS: Final = 365
MAX_FEATURES: Final = 50
CODE_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
FEATURE_PATTERN: Final = r"^[a-z][a-z0-9_]{0,49}$"
_CODE = re.compile(CODE_PATTERN)
_FEATURE = re.compile(FEATURE_PATTERN)
_PLAN_NAMESPACE: Final = uuid5(NAMESPACE_URL, "chronicle:plan")


def plan_id_for(code: str) -> UUID:
    """The stream id of the plan with ``code``, in any case."""
    return uuid5(_PLAN_NAMESPACE, code.strip().casefold())


def months_in(interval: str) -> int:
    return 12 if interval == "year" else 1


def check_limits(limits: dict[str, int]) -> dict[str, int]:
    unknown = sorted(set(limits) - LIMIT_NAMES)
    if unknown:
        raise InvalidPlan(f"Unknown limits {unknown}: the limits are {sorted(LIMIT_NAMES)}")
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT:
            raise InvalidPlan(f"The limit {name} must be a whole number from 0 to {MAX_LIMIT}")
    return dict(sorted(limits.items()))


def check_features(features: list[str]) -> list[str]:
    if len(features) > MAX_FEATURES or not all(isinstance(f, str) and _FEATURE.match(f) for f in features):
        raise InvalidPlan(f"Features are at most {MAX_FEATURES} lower-case names (letters, digits, '_')")
    return sorted(set(features))


class Plan(Aggregate):
    """A price, an interval, a trial, features and limits that accounts subscribe to."""

    class Created(Aggregate.Created):
        code: str
        name: str
        price: Decimal
        currency: str
        interval: str
        trial_days: int
        features: list[str]
        limits: dict[str, int]

    class PriceChanged(Aggregate.Event):
        price: Decimal

        def apply(self, plan: Plan) -> None:
            plan.price = self.price

    class LimitsChanged(Aggregate.Event):
        limits: dict[str, int]
        features: list[str]

        def apply(self, plan: Plan) -> None:
            plan.limits = dict(self.limits)
            plan.features = list(self.features)

    class Retired(Aggregate.Event):
        def apply(self, plan: Plan) -> None:
            plan.retired = True

    def __init__(
        self,
        code: str,
        name: str,
        price: Decimal,
        currency: str,
        interval: str,
        trial_days: int,
        features: list[str],
        limits: dict[str, int],
    ) -> None:
        self.code = code
        self.name = name
        self.price = price
        self.currency = currency
        self.interval = interval
        self.trial_days = trial_days
        self.features = list(features)
        self.limits = dict(limits)
        self.retired = False

    id_for = staticmethod(plan_id_for)

    @classmethod
    def create(
        cls,
        *,
        code: str,
        name: str,
        price: Decimal,
        currency: str,
        interval: str,
        trial_days: int = 0,
        features: list[str] | None = None,
        limits: dict[str, int] | None = None,
        now: datetime,
    ) -> Plan:
        code = code.strip()
        if not _CODE.match(code):
            raise InvalidPlan("A plan code is 1-40 letters, digits, '_' or '-', starting with a letter or digit")
        if not name.strip() or len(name.strip()) > 100:
            raise InvalidPlan("The name must not be empty (at most 100 characters)")
        if interval not in INTERVALS:
            raise InvalidPlan(f"The interval is one of {list(INTERVALS)}")
        if isinstance(trial_days, bool) or not 0 <= trial_days <= MAX_TRIAL_DAYS:
            raise InvalidPlan(f"Trial days are 0 to {MAX_TRIAL_DAYS}")
        price = check_price(price, check_currency(currency))
        is_free = code.casefold() == FREE_PLAN_CODE
        if is_free and (price != 0 or trial_days):
            raise InvalidPlan("The free plan costs nothing and has no trial")
        if price == 0 and trial_days:
            raise InvalidPlan("A plan that costs nothing has no trial")
        return cls._create(
            cls.Created,
            id=plan_id_for(code),
            timestamp=now,
            code=code,
            name=name.strip(),
            price=price,
            currency=currency,
            interval=interval,
            trial_days=trial_days,
            features=check_features(features or []),
            limits=check_limits(limits or {}),
        )

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def monthly_price(self) -> Decimal:
        """The price per month (a yearly price over twelve months): how plans compare."""
        return self.price / months_in(self.interval)

    def _check_open(self) -> None:
        if self.retired:
            raise PlanRetired(f"The plan {self.code} is retired")

    def change_price(self, *, price: Decimal, now: datetime) -> None:
        self._check_open()
        if self.code.casefold() == FREE_PLAN_CODE:
            raise FreePlanPriceFixed()
        price = check_price(price, self.currency)
        if price == 0:
            raise InvalidPlan("A paid plan's price is above 0")
        if price == self.price:
            raise PlanUnchanged(f"The plan {self.code} already costs {price}")
        self.trigger_event(self.PriceChanged, timestamp=now, price=price)

    def change_limits(self, *, limits: dict[str, int], features: list[str], now: datetime) -> None:
        self._check_open()
        limits, features = check_limits(limits), check_features(features)
        if limits == self.limits and features == self.features:
            raise PlanUnchanged(f"The plan {self.code} already has these limits and features")
        self.trigger_event(self.LimitsChanged, timestamp=now, limits=limits, features=features)

    def retire(self, *, now: datetime) -> None:
        if self.code.casefold() == FREE_PLAN_CODE:
            raise FreePlanNotRetirable()
        self._check_open()
        self.trigger_event(self.Retired, timestamp=now)

    def check_subscribable(self) -> None:
        self._check_open()
