"""What the Subscriptions context lets roles do."""

from __future__ import annotations

from typing import Final

from domain.shared.access import ContextGrants, Role

PLANS_MANAGE: Final = "plans:manage"  # create plans, change their price, limits and features, retire them
BILLING_READ: Final = "billing:read"  # the revenue view
SUBSCRIPTION_OWN: Final = "subscription:own"  # read and manage one's own subscription (never another's)

GRANTS: Final = ContextGrants(
    declared=frozenset({PLANS_MANAGE, BILLING_READ, SUBSCRIPTION_OWN}),
    grants={
        **{role: frozenset({SUBSCRIPTION_OWN}) for role in Role},
        Role.AUDITOR: frozenset({SUBSCRIPTION_OWN, BILLING_READ}),
    },
)
