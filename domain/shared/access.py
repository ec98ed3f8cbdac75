"""Roles, and the ``resource:action`` permissions each context grants them.

The roles are the workplace's, common to every context. Each context declares its own
permissions and which roles get them (``ContextGrants`` in its ``permissions`` module); the
composition root joins them into one ``AccessPolicy``. ``admin`` holds every declared permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"
    INSPECTOR = "inspector"
    VIEWER = "viewer"
    AUDITOR = "auditor"
    USER = "user"


ROLES: Final[frozenset[str]] = frozenset(Role)
DEFAULT_ROLE: Final = Role.USER


@dataclass(frozen=True)
class ContextGrants:
    """The permissions one context declares, and the roles (other than admin) that hold each."""

    declared: frozenset[str]
    grants: Mapping[Role, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        stray = {p for granted in self.grants.values() for p in granted} - self.declared
        if stray:
            raise ValueError(f"granted but not declared: {sorted(stray)}")


# Reading the whole log and the projections' state: operations, not a context of their own.
AUDIT_READ: Final = "audit:read"
PROJECTIONS_READ: Final = "projections:read"
# Starting a rebuild job: admin only (granted to no other role).
PROJECTIONS_REBUILD: Final = "projections:rebuild"

OPERATIONS: Final = ContextGrants(
    declared=frozenset({AUDIT_READ, PROJECTIONS_READ, PROJECTIONS_REBUILD}),
    grants={Role.AUDITOR: frozenset({AUDIT_READ, PROJECTIONS_READ})},
)


class AccessPolicy:
    """What a set of roles may do, joined from every context's grants."""

    def __init__(self, contexts: Iterable[ContextGrants]) -> None:
        self.all_permissions: frozenset[str] = frozenset()
        table: dict[str, set[str]] = {role: set() for role in Role}
        for context in contexts:
            self.all_permissions |= context.declared
            for role, granted in context.grants.items():
                table[role] |= granted
        table[Role.ADMIN] = set(self.all_permissions)
        self.role_permissions: dict[str, frozenset[str]] = {role: frozenset(p) for role, p in table.items()}

    def permissions_for(self, roles: Iterable[str]) -> frozenset[str]:
        """The union of the permissions granted by ``roles`` (unknown roles grant nothing)."""
        granted: set[str] = set()
        for role in roles:
            granted |= self.role_permissions.get(role, frozenset())
        return frozenset(granted)
