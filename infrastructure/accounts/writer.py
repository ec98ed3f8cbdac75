"""The accounts projection's writer: one batch's changes to the accounts read model, in a few statements."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from infrastructure.accounts.tables import account_roles, account_status_counts, accounts, sessions
from infrastructure.shared.readstore import BatchView, Increments, PendingRows


class SqlAccountsView(BatchView):
    """The accounts projection's writer for one batch, inside the batch's transaction.

    Handlers' changes are gathered in memory (several changes to one row merge into one) and
    written by ``flush`` with a few executemany statements, instead of a round trip per event:
    folding a backlog is bound by round trips otherwise. Accounts go before their roles (the
    roles table refers to them); the status counts are worked out from the gathered changes.
    """

    def __init__(self, conn: Connection) -> None:
        self._accounts = PendingRows(accounts, "id")
        self._roles = PendingRows(account_roles, ("account_id", "role"))
        self._sessions = PendingRows(sessions, "id")
        self._counts = Increments(account_status_counts, ["status"], "accounts")
        super().__init__(conn, self._accounts, self._roles, self._sessions, self._counts)

    def add_account(self, account_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        row = {"id": account_id, "version": version, "created_at": at, "updated_at": at, "failed_logins": 0, **fields}
        self._accounts.add(row)

    def update_account(self, account_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._accounts.change(account_id, version=version, updated_at=at, **fields)

    def add_role(self, account_id: UUID, role: str) -> None:
        self._roles.add({"account_id": account_id, "role": role})

    def remove_role(self, account_id: UUID, role: str) -> None:
        self._roles.remove((account_id, role))

    def add_session(self, session_id: UUID, account_id: UUID, started_at: datetime, expires_at: datetime) -> None:
        self._sessions.add(
            {
                "id": session_id,
                "account_id": account_id,
                "started_at": started_at,
                "expires_at": expires_at,
                "updated_at": started_at,
                "revoked": False,
            }
        )

    def update_session(self, session_id: UUID, at: datetime, **fields: Any) -> None:
        self._sessions.change(session_id, updated_at=at, **fields)

    def _count_statuses(self) -> None:
        """Count added accounts under their status, and move re-statused ones from their stored status.

        An added account is new: Registered is the first event of its stream and the runner applies
        each event once, so only status changes need the stored status (one small SELECT). Reading the
        stored status of every added account too made a rebuild quadratic: the statement, prepared
        while the table was nearly empty, kept a sequential-scan plan as the table grew.
        """
        deltas: Counter[str] = Counter(row["status"] for row in self._accounts.added.values())
        changed = {i: c["status"] for i, c in self._accounts.changed.items() if "status" in c}
        if changed:
            stored = self.conn.execute(select(accounts.c.id, accounts.c.status).where(accounts.c.id.in_(changed)))
            for account_id, status in stored:  # an update of a row that is not there changes nothing
                deltas[status] -= 1
                deltas[changed[account_id]] += 1
        for status, delta in deltas.items():
            self._counts.add((status,), delta)

    def flush(self) -> None:
        self._count_statuses()
        super().flush()
