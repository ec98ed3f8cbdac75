"""What the Accounts context lets roles do."""

from __future__ import annotations

from typing import Final

from domain.shared.access import ContextGrants, Role

PROFILE_READ: Final = "profile:read"
PROFILE_UPDATE: Final = "profile:update"
ACCOUNTS_READ: Final = "accounts:read"
ACCOUNTS_MANAGE: Final = "accounts:manage"
ROLES_ASSIGN: Final = "roles:assign"
# Erasing an account's personal data: only admins (who hold every declared permission).
ACCOUNTS_ERASE: Final = "accounts:erase"

_SELF_SERVICE: Final = frozenset({PROFILE_READ, PROFILE_UPDATE})

GRANTS: Final = ContextGrants(
    declared=frozenset({PROFILE_READ, PROFILE_UPDATE, ACCOUNTS_READ, ACCOUNTS_MANAGE, ROLES_ASSIGN, ACCOUNTS_ERASE}),
    grants={
        # Every role looks after its own account.
        **{role: _SELF_SERVICE for role in Role},
        Role.MANAGER: _SELF_SERVICE | {ACCOUNTS_READ},
        Role.AUDITOR: _SELF_SERVICE | {ACCOUNTS_READ},
    },
)
