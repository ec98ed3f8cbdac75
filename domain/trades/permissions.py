"""What the Trades context lets roles do.

Users trade (``trades:own``) and read (``trades:read``) their own trades; admin and auditor read every
account's (``trades:read`` with ``trades:read_all``; admin holds every permission); the auditor writes
nothing. Only admin records mark prices (``marks:write``: no machine role exists yet, so the flows'
agents do not record marks themselves). Acting on a trade (close, cancel) is its owner's alone, admins
included: reading every account's trades is not trading for them.
"""

from __future__ import annotations

from typing import Final

from domain.shared.access import ContextGrants, Role

TRADES_OWN: Final = "trades:own"  # open, close and cancel one's own trades
TRADES_READ: Final = "trades:read"  # read trades, positions and P&L: one's own (all of them with read_all)
TRADES_READ_ALL: Final = "trades:read_all"  # read every account's trades, positions and P&L
MARKS_WRITE: Final = "marks:write"  # record a symbol's mark price

GRANTS: Final = ContextGrants(
    declared=frozenset({TRADES_OWN, TRADES_READ, TRADES_READ_ALL, MARKS_WRITE}),
    grants={
        Role.USER: frozenset({TRADES_OWN, TRADES_READ}),
        Role.AUDITOR: frozenset({TRADES_READ, TRADES_READ_ALL}),
    },
    # Withdrawn from the read-only auditor role, although every account also holds ``user``.
    writes=frozenset({TRADES_OWN, MARKS_WRITE}),
)
