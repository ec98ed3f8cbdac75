"""Roles and the ``resource:action`` permissions each one grants."""

from __future__ import annotations

from typing import Final

PROFILE_READ: Final = "profile:read"
PROFILE_UPDATE: Final = "profile:update"
ACCOUNTS_READ: Final = "accounts:read"
ACCOUNTS_MANAGE: Final = "accounts:manage"
ROLES_ASSIGN: Final = "roles:assign"
AUDIT_READ: Final = "audit:read"
PROJECTIONS_READ: Final = "projections:read"
WORK_ORDERS_READ: Final = "work_orders:read"
WORK_ORDERS_MANAGE: Final = "work_orders:manage"  # create, import, assign, complete, rework, cancel
WORK_ORDERS_WORK: Final = "work_orders:work"  # start, consume materials (on orders assigned to oneself)
WORK_ORDERS_INSPECT: Final = "work_orders:inspect"
INVENTORY_READ: Final = "inventory:read"
INVENTORY_MANAGE: Final = "inventory:manage"  # register items, receive and adjust stock

ALL_PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        PROFILE_READ,
        PROFILE_UPDATE,
        ACCOUNTS_READ,
        ACCOUNTS_MANAGE,
        ROLES_ASSIGN,
        AUDIT_READ,
        PROJECTIONS_READ,
        WORK_ORDERS_READ,
        WORK_ORDERS_MANAGE,
        WORK_ORDERS_WORK,
        WORK_ORDERS_INSPECT,
        INVENTORY_READ,
        INVENTORY_MANAGE,
    }
)

_SELF_SERVICE: Final = frozenset({PROFILE_READ, PROFILE_UPDATE})
_WORKSHOP_READ: Final = frozenset({WORK_ORDERS_READ, INVENTORY_READ})

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "admin": ALL_PERMISSIONS,
    "manager": _SELF_SERVICE | _WORKSHOP_READ | {ACCOUNTS_READ, WORK_ORDERS_MANAGE, INVENTORY_MANAGE},
    "operator": _SELF_SERVICE | _WORKSHOP_READ | {WORK_ORDERS_WORK},
    "inspector": _SELF_SERVICE | _WORKSHOP_READ | {WORK_ORDERS_INSPECT},
    "viewer": _SELF_SERVICE | _WORKSHOP_READ,
    "auditor": _SELF_SERVICE | _WORKSHOP_READ | {ACCOUNTS_READ, AUDIT_READ, PROJECTIONS_READ},
    "user": _SELF_SERVICE,
}

ROLES: Final[frozenset[str]] = frozenset(ROLE_PERMISSIONS)
DEFAULT_ROLE: Final = "user"


def permissions_for(roles: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """The union of the permissions granted by ``roles`` (unknown roles grant nothing)."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)
