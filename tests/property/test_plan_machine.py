"""Random changes to a Plan, checked against a model after every step.

Prices (valid, unchanged, zero, with too many places), limits and features (valid, unknown,
negative, unchanged) and retirement run in any order; every refusal is exactly the one the model
predicts, with nothing emitted. After every step the plan agrees with the model, and the plan
rebuilt from its events (in memory, and through the event store, which snapshots every three
events) equals the live one.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.shared.errors import DomainError
from domain.subscriptions.errors import (
    FreePlanNotRetirable,
    FreePlanPriceFixed,
    InvalidPlan,
    PlanRetired,
    PlanUnchanged,
)
from domain.subscriptions.plan import LIMIT_NAMES, Plan
from tests.property.replay import Recorder, rebuild, run_command
from tests.unit.subscription_builders import T0

cents = st.integers(min_value=0, max_value=10**6).map(lambda n: Decimal(n).scaleb(-2))
prices = st.one_of(cents, cents, st.sampled_from(["0", "0.001", "-5", "20.00"]).map(Decimal))
limit_values = st.one_of(st.integers(0, 10**6), st.sampled_from([-1, 10**9 + 1]))
limits = st.dictionaries(st.sampled_from([*sorted(LIMIT_NAMES), "bogus"]), limit_values, max_size=4)
features = st.lists(st.sampled_from(["bulk_import", "exports", "Bad Feature"]), max_size=3)


class PlanMachine(RuleBasedStateMachine):
    plan: Plan

    def __init__(self) -> None:
        super().__init__()
        self.recorder = Recorder()

    def run(self, refusal: type[DomainError] | None, command: object, *emitted: type) -> bool:
        return run_command(self.recorder, self.plan, refusal, command, *emitted)  # type: ignore[arg-type]

    @initialize(code=st.sampled_from(["free", "pro", "Business"]), price=cents.filter(lambda p: p > 0))
    def create(self, code: str, price: Decimal) -> None:
        self.free = code == "free"
        self.price = Decimal(0) if self.free else price
        self.limits: dict[str, int] = {}
        self.features: list[str] = []
        self.retired = False
        self.plan = Plan.create(code=code, name=code, price=self.price, currency="USD", interval="month", now=T0)
        self.recorder.record(self.plan)

    @rule(price=prices)
    def change_price(self, price: Decimal) -> None:
        refusal = (
            (PlanRetired if self.retired else None)
            or (FreePlanPriceFixed if self.free else None)
            or (InvalidPlan if price <= 0 or price != price.quantize(Decimal("0.01")) else None)
            or (PlanUnchanged if price == self.price else None)
        )
        if self.run(refusal, lambda: self.plan.change_price(price=price, now=T0), Plan.PriceChanged):
            self.price = price

    @rule(new_limits=limits, new_features=features)
    def change_limits(self, new_limits: dict[str, int], new_features: list[str]) -> None:
        invalid = (
            set(new_limits) - LIMIT_NAMES
            or any(not 0 <= v <= 10**9 for v in new_limits.values())
            or "Bad Feature" in new_features
        )
        wanted = (dict(sorted(new_limits.items())), sorted(set(new_features)))
        refusal = (
            (PlanRetired if self.retired else None)
            or (InvalidPlan if invalid else None)
            or (PlanUnchanged if wanted == (self.limits, self.features) else None)
        )
        command = lambda: self.plan.change_limits(limits=new_limits, features=new_features, now=T0)  # noqa: E731
        if self.run(refusal, command, Plan.LimitsChanged):
            self.limits, self.features = wanted

    @rule()
    def retire(self) -> None:
        refusal = (FreePlanNotRetirable if self.free else None) or (PlanRetired if self.retired else None)
        if self.run(refusal, lambda: self.plan.retire(now=T0), Plan.Retired):
            self.retired = True

    @invariant()
    def the_plan_agrees_with_the_model(self) -> None:
        plan = self.plan
        assert (plan.price, plan.limits, plan.features, plan.retired) == (
            self.price,
            self.limits,
            self.features,
            self.retired,
        )
        assert plan.is_free is self.free

    @invariant()
    def the_plan_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.plan

    @invariant()
    def the_plan_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.plan) == self.plan


PlanMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestPlanMachine = PlanMachine.TestCase
