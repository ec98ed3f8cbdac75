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
    # The declared permissions that change state: a read-only role withdraws them (see ``READ_ONLY_ROLES``).
    writes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        stray = {p for granted in self.grants.values() for p in granted} - self.declared
        if stray:
            raise ValueError(f"granted but not declared: {sorted(stray)}")
        if self.writes - self.declared:
            raise ValueError(f"writes not declared: {sorted(self.writes - self.declared)}")


# Roles that read and write nothing: an account holding one is refused every permission a context declares
# as a write, whatever its other roles grant (every account also holds ``user``), unless it is an admin.
READ_ONLY_ROLES: Final[frozenset[str]] = frozenset({Role.AUDITOR})

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
        self.writes: frozenset[str] = frozenset()
        table: dict[str, set[str]] = {role: set() for role in Role}
        for context in contexts:
            self.all_permissions |= context.declared
            self.writes |= context.writes
            for role, granted in context.grants.items():
                table[role] |= granted
        table[Role.ADMIN] = set(self.all_permissions)
        self.role_permissions: dict[str, frozenset[str]] = {role: frozenset(p) for role, p in table.items()}

    def permissions_for(self, roles: Iterable[str]) -> frozenset[str]:
        """The union of the permissions granted by ``roles`` (unknown roles grant nothing), less the contexts'
        writes when one of them is read-only (and none is admin)."""
        granted: set[str] = set()
        held = set(roles)
        for role in held:
            granted |= self.role_permissions.get(role, frozenset())
        if held & READ_ONLY_ROLES and Role.ADMIN not in held:
            granted -= self.writes
        return frozenset(granted)
