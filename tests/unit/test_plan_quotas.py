"""The rate limiter's quota from the caller's plan: its requests_per_minute, admins unlimited, cached briefly."""

from __future__ import annotations

from uuid import UUID, uuid4

from application.shared.ports import PlanEntitlements
from infrastructure.shared.ratelimit import Quota
from infrastructure.subscriptions.quotas import PlanQuotas
from tests.conftest import Ticks

DEFAULT = Quota("account", 600)


class Plans:
    """An Entitlements port whose answers the test sets, counting how often it is asked."""

    def __init__(self) -> None:
        self.plans: dict[UUID, PlanEntitlements] = {}
        self.asked = 0

    def limits_for(self, account_id: UUID) -> PlanEntitlements:
        self.asked += 1
        return self.plans.get(account_id, PlanEntitlements("free", {"requests_per_minute": 60}))


def test_a_member_gets_the_requests_per_minute_of_their_plan() -> None:
    plans, account = Plans(), uuid4()
    plans.plans[account] = PlanEntitlements("pro", {"requests_per_minute": 900})
    quota = PlanQuotas(plans, DEFAULT, 2.0).quota_for(account, ["user"])
    assert quota is not None and quota.amount == 900 and quota.window == 60


def test_admins_are_unlimited_without_asking_the_plan() -> None:
    plans = Plans()
    assert PlanQuotas(plans, DEFAULT, 2.0).quota_for(uuid4(), ["admin", "user"]) is None
    assert plans.asked == 0


def test_a_plan_without_the_limit_gets_the_default_account_quota() -> None:
    plans, account = Plans(), uuid4()
    plans.plans[account] = PlanEntitlements("enterprise", {"trades_per_day": 5})
    assert PlanQuotas(plans, DEFAULT, 2.0).quota_for(account, ["user"]) == DEFAULT


def test_a_plan_change_is_felt_once_the_cache_time_has_passed() -> None:
    plans, account, ticks = Plans(), uuid4(), Ticks()
    quotas = PlanQuotas(plans, DEFAULT, 2.0, clock=ticks)
    assert quotas.quota_for(account, ["user"]).amount == 60  # type: ignore[union-attr]
    plans.plans[account] = PlanEntitlements("pro", {"requests_per_minute": 900})
    ticks.now += 1.0
    assert quotas.quota_for(account, ["user"]).amount == 60  # type: ignore[union-attr]
    ticks.now += 1.5
    assert quotas.quota_for(account, ["user"]).amount == 900  # type: ignore[union-attr]
    assert plans.asked == 2


def test_the_cache_holds_at_most_its_bound_of_accounts() -> None:
    plans, ticks = Plans(), Ticks()
    quotas = PlanQuotas(plans, DEFAULT, 60.0, max_entries=3, clock=ticks)
    accounts = [uuid4() for _ in range(4)]
    for account in accounts:
        quotas.quota_for(account, ["user"])
    quotas.quota_for(accounts[0], ["user"])  # evicted first, so asked again
    assert plans.asked == 5
