"""Wiring of the Subscriptions context: its application, the payment gateway and the free-plan policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from application.shared.commands import CommandContext
from application.subscriptions.application import FreePlanConfig, SubscriptionsApplication
from application.subscriptions.free_plan_policy import FreePlanPolicy
from application.subscriptions.ports import DunningLadder, PaymentGateway
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from infrastructure.subscriptions.gateway import SqlOfflineGateway


@dataclass
class Subscriptions:
    """The Subscriptions context, wired."""

    app: SubscriptionsApplication
    gateway: PaymentGateway
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {SubscriptionsApplication: self.app, PaymentGateway: self.gateway}

    def start(self, platform: Platform) -> None:
        """Make sure the free plan exists (created once; a plan the admins changed is kept)."""
        self.app.ensure_free_plan(CommandContext.system("bootstrap", platform.clock()))


def wire_subscriptions(
    platform: Platform,
    *,
    gateway: PaymentGateway | None = None,
    new_account_events: Iterable[type[Any]] = (),
) -> Subscriptions:
    """``new_account_events``: the accounts context's registration event(s), named by the composition root."""
    settings = platform.settings
    gateway = gateway or SqlOfflineGateway(platform.read_engine)
    app = SubscriptionsApplication(
        gateway,
        DunningLadder(settings.dunning_days(), settings.dunning_final_status),
        FreePlanConfig(
            name=settings.free_plan_name, currency=settings.free_plan_currency, limits=settings.free_plan_limits()
        ),
        platform.env,
        shares_log_with=platform.log,
    )
    platform.joins_log(app)
    followers = (Follower(FreePlanPolicy(app, new_account_events)),)
    return Subscriptions(app, gateway, followers)
