"""What the Trades context's grants give each role, in the policy the composition root joins."""

from __future__ import annotations

from domain.shared.access import ROLES
from domain.trades.permissions import MARKS_WRITE, TRADES_OWN, TRADES_READ, TRADES_READ_ALL
from infrastructure.root import ACCESS


def holders(permission: str) -> set[str]:
    return {role for role in ROLES if permission in ACCESS.permissions_for([role])}


def test_users_trade_and_read_their_own_and_admin_holds_everything() -> None:
    assert holders(TRADES_OWN) == {"user", "admin"}
    assert holders(TRADES_READ) == {"user", "auditor", "admin"}


def test_only_admin_and_auditor_read_every_account_and_only_admin_records_marks() -> None:
    assert holders(TRADES_READ_ALL) == {"auditor", "admin"}
    assert holders(MARKS_WRITE) == {"admin"}


def test_the_auditor_role_grants_no_trades_write() -> None:
    assert not {TRADES_OWN, MARKS_WRITE} & ACCESS.permissions_for(["auditor"])
