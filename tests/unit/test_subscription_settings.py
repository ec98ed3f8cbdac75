"""The subscriptions' settings and grants: ranges refused at start, the ladder and free plan they build."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.shared.access import Role
from domain.subscriptions.permissions import BILLING_READ, PLANS_MANAGE, SUBSCRIPTION_OWN
from infrastructure.root import ACCESS
from infrastructure.shared.settings import Settings


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_the_defaults_retry_after_one_three_and_five_days_then_unpaid(tmp_path: Path) -> None:
    chosen = settings(tmp_path)

    assert (chosen.dunning_days(), chosen.dunning_final_status, chosen.payment_gateway) == (
        (1, 3, 5),
        "unpaid",
        "offline",
    )
    assert chosen.free_plan_limits() == {"trades_per_day": 10, "active_flows": 1}


def test_the_ladder_and_the_free_plan_are_read_from_the_environment(tmp_path: Path) -> None:
    chosen = settings(
        tmp_path,
        dunning_retry_days=" 2, 4 ,9",
        dunning_final_status="canceled",
        free_plan_requests_per_minute=30,
        free_plan_trades_per_day=None,
    )

    assert chosen.dunning_days() == (2, 4, 9)
    assert chosen.free_plan_limits() == {"requests_per_minute": 30, "active_flows": 1}


@pytest.mark.parametrize(
    "values",
    [
        {"dunning_retry_days": ""},
        {"dunning_retry_days": "3,1"},
        {"dunning_retry_days": "1,1"},
        {"dunning_retry_days": "0"},
        {"dunning_retry_days": "61"},
        {"dunning_retry_days": "1;3"},
        {"dunning_final_status": "expired"},
        {"payment_gateway": "stripe"},
        {"free_plan_currency": "usd"},
        {"free_plan_trades_per_day": -1},
        {"free_plan_requests_per_minute": 0},
        {"free_plan_name": ""},
    ],
    ids=repr,
)
def test_a_setting_out_of_its_range_is_refused(tmp_path: Path, values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(tmp_path, **values)


def test_admins_manage_plans_auditors_read_billing_and_every_role_its_own_subscription() -> None:
    assert {PLANS_MANAGE, BILLING_READ} <= ACCESS.permissions_for([Role.ADMIN])
    assert BILLING_READ in ACCESS.permissions_for([Role.AUDITOR])
    for role in Role:
        granted = ACCESS.permissions_for([role])
        assert SUBSCRIPTION_OWN in granted
        assert (PLANS_MANAGE in granted) is (role == Role.ADMIN)
        assert (BILLING_READ in granted) is (role in (Role.ADMIN, Role.AUDITOR))
