"""Plan gates at the edge: a route that needs a plan feature declares ``Depends(requires_feature(name))``.

The caller's plan is read through the ``Entitlements`` port (the subscriptions read side answers it).
Admins pass every gate: they are not customers of a plan (as they are not rate limited). A caller
whose plan lacks the feature gets 403 ``plan_feature_required``, naming the feature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from starlette.concurrency import run_in_threadpool

from application.shared.ports import Entitlements
from domain.shared.access import Role
from interfaces.http.shared.auth import CurrentUser, Principal
from interfaces.http.shared.problems import Problem
from interfaces.http.shared.services import provide

Plans = Annotated[Entitlements, provide(Entitlements)]


def requires_feature(feature: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers whose live plan has ``feature`` (and admins); declare it after the permission."""

    async def gate(principal: CurrentUser, plans: Plans) -> Principal:
        if Role.ADMIN in principal.roles:
            return principal
        entitlements = await run_in_threadpool(plans.limits_for, principal.account_id)
        if not entitlements.allows(feature):
            raise Problem(
                403,
                "plan_feature_required",
                "Your plan does not include this",
                f"This needs a plan with the feature {feature!r}; the {entitlements.plan_code!r} plan lacks it",
            )
        return principal

    gate.__name__ = f"requires_feature_{feature}"
    return gate
