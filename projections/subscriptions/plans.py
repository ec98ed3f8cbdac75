"""The plans read model: one row per plan, its price, limits and features, and whether it takes subscribers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.subscriptions.plan import Plan


class PlansView(Protocol):
    """What the plans projection needs from its store (implemented in infrastructure)."""

    def add_plan(self, plan_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_plan(self, plan_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...


class PlansProjection(EventHandlers[PlansView]):
    """Folds Plan events into the plan rows."""

    name = "plans"

    @handles(Plan.Created)
    def created(self, e: Plan.Created, view: PlansView, meta: dict[str, Any]) -> None:
        view.add_plan(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            code=e.code,
            code_key=e.code.casefold(),
            name=e.name,
            price=e.price,
            currency=e.currency,
            interval=e.interval,
            trial_days=e.trial_days,
            features=list(e.features),
            limits=dict(e.limits),
            active=True,
        )

    @handles(Plan.PriceChanged)
    def price_changed(self, e: Plan.PriceChanged, view: PlansView, meta: dict[str, Any]) -> None:
        view.update_plan(e.originator_id, e.originator_version, e.timestamp, price=e.price)

    @handles(Plan.LimitsChanged)
    def limits_changed(self, e: Plan.LimitsChanged, view: PlansView, meta: dict[str, Any]) -> None:
        limits, features = dict(e.limits), list(e.features)
        view.update_plan(e.originator_id, e.originator_version, e.timestamp, limits=limits, features=features)

    @handles(Plan.Retired)
    def retired(self, e: Plan.Retired, view: PlansView, meta: dict[str, Any]) -> None:
        view.update_plan(e.originator_id, e.originator_version, e.timestamp, active=False)
