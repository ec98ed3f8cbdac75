"""The Plan aggregate: given a plan, when it is created, repriced, given new limits or retired,
then its events and state, or the named error (and nothing emitted)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.subscriptions.errors import (
    FreePlanNotRetirable,
    FreePlanPriceFixed,
    InvalidPlan,
    PlanRetired,
    PlanUnchanged,
)
from domain.subscriptions.plan import Plan, plan_id_for
from tests.unit.builders import event_types, refused
from tests.unit.subscription_builders import T0, a_plan


def create(**overrides: object) -> Plan:
    fields: dict[str, object] = {
        "code": "pro",
        "name": "Pro",
        "price": Decimal("20.00"),
        "currency": "USD",
        "interval": "month",
    }
    fields.update(overrides)
    return Plan.create(now=T0, **fields)  # type: ignore[arg-type]


def test_a_plan_is_created_with_its_terms_and_an_id_from_its_code_in_any_case() -> None:
    plan = create(code=" Pro ", features=["bulk_import", "bulk_import"], limits={"trades_per_day": 100})

    assert event_types(plan) == [Plan.Created]
    assert plan.id == Plan.id_for("PRO") == plan_id_for("pro")
    assert (plan.code, plan.price, plan.features, plan.limits) == (
        "Pro",
        Decimal("20.00"),
        ["bulk_import"],
        {"trades_per_day": 100},
    )
    assert not plan.retired


@pytest.mark.parametrize(
    "fields",
    [
        {"code": ""},
        {"code": "-pro"},
        {"code": "p" * 41},
        {"name": " "},
        {"interval": "week"},
        {"price": Decimal("-1")},
        {"price": Decimal("1.001")},
        {"price": Decimal("NaN")},
        {"price": Decimal("1E+10")},
        {"currency": "usd"},
        {"currency": "JPY", "price": Decimal("1.5")},
        {"trial_days": -1},
        {"trial_days": 366},
        {"limits": {"bogus": 1}},
        {"limits": {"trades_per_day": -1}},
        {"limits": {"trades_per_day": True}},
        {"features": ["Bulk Import"]},
        {"code": "free", "price": Decimal("5")},
        {"code": "cheap", "price": Decimal("0"), "trial_days": 7},
    ],
    ids=repr,
)
def test_an_invalid_plan_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidPlan):
        create(**fields)


def test_a_price_change_is_recorded_in_the_plans_currency() -> None:
    plan = a_plan()
    plan.change_price(price=Decimal("25.50"), now=T0)

    assert event_types(plan) == [Plan.PriceChanged]
    assert plan.price == Decimal("25.50")
    refused(plan, PlanUnchanged, lambda p: p.change_price(price=Decimal("25.50"), now=T0))
    refused(plan, InvalidPlan, lambda p: p.change_price(price=Decimal("0"), now=T0))


def test_limits_and_features_change_together() -> None:
    plan = a_plan()
    plan.change_limits(limits={"active_flows": 5}, features=["bulk_import"], now=T0)

    assert event_types(plan) == [Plan.LimitsChanged]
    assert (plan.limits, plan.features) == ({"active_flows": 5}, ["bulk_import"])
    refused(
        plan, PlanUnchanged, lambda p: p.change_limits(limits={"active_flows": 5}, features=["bulk_import"], now=T0)
    )


def test_a_retired_plan_accepts_no_change() -> None:
    plan = a_plan()
    plan.retire(now=T0)
    assert event_types(plan) == [Plan.Retired]

    refused(plan, PlanRetired, lambda p: p.retire(now=T0))
    refused(plan, PlanRetired, lambda p: p.change_price(price=Decimal("1"), now=T0))
    refused(plan, PlanRetired, lambda p: p.change_limits(limits={}, features=["x"], now=T0))
    refused(plan, PlanRetired, lambda p: p.check_subscribable())


def test_the_free_plan_is_never_retired_nor_repriced() -> None:
    free = a_plan("free", "0")
    refused(free, FreePlanNotRetirable, lambda p: p.retire(now=T0))
    refused(free, FreePlanPriceFixed, lambda p: p.change_price(price=Decimal("1"), now=T0))


def test_a_yearly_plan_compares_by_its_monthly_price() -> None:
    assert a_plan("y", "120.00", "year").monthly_price == Decimal(10)
