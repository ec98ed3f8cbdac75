"""What the Flows context lets roles do: everyone manages their own flows; auditors (and admins) read all."""

from __future__ import annotations

from typing import Final

from domain.shared.access import ContextGrants, Role

FLOWS_OWN: Final = "flows:own"  # define, edit, activate, pause, stop and run one's own flows, and read them
FLOWS_READ_OWN: Final = "flows:read"  # read one's own flows and runs
FLOWS_READ_ALL: Final = "flows:read_all"  # read every account's flows and runs

# Every account also holds ``user`` (and so ``flows:own``); an auditor still writes no flow, not even its own:
# ``flows:own`` is a write, which the read-only auditor role withdraws (domain/shared/access.py).
GRANTS: Final = ContextGrants(
    declared=frozenset({FLOWS_OWN, FLOWS_READ_OWN, FLOWS_READ_ALL}),
    grants={
        **{role: frozenset({FLOWS_OWN, FLOWS_READ_OWN}) for role in Role if role != Role.AUDITOR},
        Role.AUDITOR: frozenset({FLOWS_READ_OWN, FLOWS_READ_ALL}),
    },
    writes=frozenset({FLOWS_OWN}),
)
