"""What the Work orders context lets roles do."""

from __future__ import annotations

from typing import Final

from domain.shared.access import ContextGrants, Role

WORK_ORDERS_READ: Final = "work_orders:read"
WORK_ORDERS_MANAGE: Final = "work_orders:manage"  # create, import, assign, complete, rework, cancel
WORK_ORDERS_WORK: Final = "work_orders:work"  # start, consume materials (on orders assigned to oneself)
WORK_ORDERS_INSPECT: Final = "work_orders:inspect"

# The role whose holders can be assigned as an order's welder.
WELDER_ROLE: Final = Role.OPERATOR

_WORKSHOP: Final = (Role.MANAGER, Role.OPERATOR, Role.INSPECTOR, Role.VIEWER, Role.AUDITOR)

GRANTS: Final = ContextGrants(
    declared=frozenset({WORK_ORDERS_READ, WORK_ORDERS_MANAGE, WORK_ORDERS_WORK, WORK_ORDERS_INSPECT}),
    grants={
        **{role: frozenset({WORK_ORDERS_READ}) for role in _WORKSHOP},
        Role.MANAGER: frozenset({WORK_ORDERS_READ, WORK_ORDERS_MANAGE}),
        Role.OPERATOR: frozenset({WORK_ORDERS_READ, WORK_ORDERS_WORK}),
        Role.INSPECTOR: frozenset({WORK_ORDERS_READ, WORK_ORDERS_INSPECT}),
    },
)
