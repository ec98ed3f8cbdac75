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

ALL_PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        PROFILE_READ,
        PROFILE_UPDATE,
        ACCOUNTS_READ,
        ACCOUNTS_MANAGE,
        ROLES_ASSIGN,
        AUDIT_READ,
        PROJECTIONS_READ,
    }
)

_SELF_SERVICE: Final = frozenset({PROFILE_READ, PROFILE_UPDATE})

ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "admin": ALL_PERMISSIONS,
    "manager": _SELF_SERVICE | {ACCOUNTS_READ},
    "operator": _SELF_SERVICE,
    "inspector": _SELF_SERVICE,
    "viewer": _SELF_SERVICE,
    "auditor": _SELF_SERVICE | {ACCOUNTS_READ, AUDIT_READ, PROJECTIONS_READ},
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
