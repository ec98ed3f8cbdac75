"""SQL for the accounts read model: its tables, the projection's writer and the query reader."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import Uuid as SqlUuid

from infrastructure.readstore import (
    Page,
    UtcDateTime,
    increment,
    like_pattern,
    metadata,
    order_by,
    projection_tracking,
    update_many,
    upsert,
)

accounts = Table(
    "rm_accounts",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False, unique=True),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    Column("phone_country_code", String(8)),
    Column("phone_number", String(32)),
    Column("birthday", Date),
    Column("status", String(32), nullable=False),
    Column("email_verified", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime),
    Column("last_login_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_rm_accounts_status_created", "status", "created_at"),
    Index("ix_rm_accounts_created", "created_at"),
    Index("ix_rm_accounts_last_name", "last_name"),
)

account_roles = Table(
    "rm_account_roles",
    metadata,
    Column("account_id", SqlUuid, ForeignKey("rm_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(32), primary_key=True),
    Index("ix_rm_account_roles_role", "role", "account_id"),
)

sessions = Table(
    "rm_sessions",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("account_id", SqlUuid, nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("revoked_reason", String(64)),
)

# How many accounts have each status, kept by the projection beside the rows: a list filtered by
# status (or not filtered) answers its exact total without counting tens of thousands of rows.
account_status_counts = Table(
    "rm_account_status_counts",
    metadata,
    Column("status", String(32), primary_key=True),
    Column("accounts", Integer, nullable=False),
)

ACCOUNT_TABLES = (account_roles, sessions, account_status_counts, accounts)


def backfill_status_counts(conn: Connection) -> None:
    """Count the rows once if the read model predates the counts table (they are kept up to date after).

    Runs holding the accounts projection's tracking row, so no batch commits halfway through the count.
    """
    conn.execute(select(projection_tracking.c.name).where(projection_tracking.c.name == "accounts").with_for_update())
    if conn.execute(select(func.count()).select_from(account_status_counts)).scalar_one():
        return
    conn.execute(
        account_status_counts.insert().from_select(
            ["status", "accounts"], select(accounts.c.status, func.count()).group_by(accounts.c.status)
        )
    )


class SqlAccountsView:
    """The accounts projection's writer for one batch, inside the batch's transaction.

    Handlers' changes are gathered in memory (several changes to one row merge into one) and
    written by ``flush`` with a few executemany statements, instead of a round trip per event:
    folding a backlog is bound by round trips otherwise. The runner flushes before it writes the
    batch's position, so rows and position still commit together. A change that must follow
    another one already gathered for the same row (a row added again, roles replaced after
    single-role changes) flushes what is gathered first, so the result is what the events, applied
    one by one, would have written.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._new_accounts: dict[UUID, dict[str, Any]] = {}
        self._account_changes: dict[UUID, dict[str, Any]] = {}
        self._replaced_roles: dict[UUID, set[str]] = {}
        self._role_changes: dict[tuple[UUID, str], bool] = {}
        self._new_sessions: dict[UUID, dict[str, Any]] = {}
        self._session_changes: dict[UUID, dict[str, Any]] = {}

    def add_account(self, account_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        if account_id in self._new_accounts or account_id in self._account_changes:
            self.flush()
        row = {"id": account_id, "version": version, "created_at": at, "updated_at": at, "failed_logins": 0, **fields}
        self._new_accounts[account_id] = row

    def update_account(self, account_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        pending = self._new_accounts.get(account_id)
        if pending is None:
            pending = self._account_changes.setdefault(account_id, {})
        pending.update(version=version, updated_at=at, **fields)

    def set_roles(self, account_id: UUID, roles: list[str]) -> None:
        if any(changed == account_id for changed, _ in self._role_changes) or account_id in self._replaced_roles:
            self.flush()
        self._replaced_roles[account_id] = set(roles)

    def add_role(self, account_id: UUID, role: str) -> None:
        if account_id in self._replaced_roles:
            self._replaced_roles[account_id].add(role)
        else:
            self._role_changes[(account_id, role)] = True

    def remove_role(self, account_id: UUID, role: str) -> None:
        if account_id in self._replaced_roles:
            self._replaced_roles[account_id].discard(role)
        else:
            self._role_changes[(account_id, role)] = False

    def add_session(self, session_id: UUID, account_id: UUID, started_at: datetime, expires_at: datetime) -> None:
        if session_id in self._new_sessions or session_id in self._session_changes:
            self.flush()
        self._new_sessions[session_id] = {
            "id": session_id,
            "account_id": account_id,
            "started_at": started_at,
            "expires_at": expires_at,
            "updated_at": started_at,
            "revoked": False,
        }

    def update_session(self, session_id: UUID, at: datetime, **fields: Any) -> None:
        pending = self._new_sessions.get(session_id)
        if pending is None:
            pending = self._session_changes.setdefault(session_id, {})
        pending.update(updated_at=at, **fields)

    def _count_statuses(self) -> None:
        """Count added accounts under their status, and move re-statused ones from their stored status.

        An added account is new: Registered is the first event of its stream and the runner applies
        each event once, so only status changes need the stored status (one small SELECT). Reading the
        stored status of every added account too made a rebuild quadratic: the statement, prepared
        while the table was nearly empty, kept a sequential-scan plan as the table grew.
        """
        deltas: Counter[str] = Counter(row["status"] for row in self._new_accounts.values())
        changed = {i: c["status"] for i, c in self._account_changes.items() if "status" in c}
        if changed:
            stored = self.conn.execute(select(accounts.c.id, accounts.c.status).where(accounts.c.id.in_(changed)))
            for account_id, status in stored:  # an update of a row that is not there changes nothing
                deltas[status] -= 1
                deltas[changed[account_id]] += 1
        rows = [{"status": status, "accounts": n} for status, n in deltas.items() if n]
        increment(self.conn, account_status_counts, ["status"], "accounts", rows)

    def flush(self) -> None:
        """Write everything gathered so far (accounts before their roles: the roles table refers to them)."""
        conn = self.conn
        self._count_statuses()
        if self._new_accounts:
            upsert(conn, accounts, list(self._new_accounts.values()), key=["id"])
        if self._account_changes:
            update_many(conn, accounts, "id", self._account_changes)
        if self._replaced_roles:
            conn.execute(delete(account_roles).where(account_roles.c.account_id.in_(list(self._replaced_roles))))
        granted = [{"account_id": a, "role": r} for a, roles in self._replaced_roles.items() for r in sorted(roles)]
        granted += [{"account_id": a, "role": r} for (a, r), present in self._role_changes.items() if present]
        if granted:
            upsert(conn, account_roles, granted, key=["account_id", "role"])
        revoked = [{"a": a, "r": r} for (a, r), present in self._role_changes.items() if not present]
        if revoked:
            conn.execute(
                delete(account_roles).where(
                    account_roles.c.account_id == bindparam("a"), account_roles.c.role == bindparam("r")
                ),
                revoked,
            )
        if self._new_sessions:
            upsert(conn, sessions, list(self._new_sessions.values()), key=["id"])
        if self._session_changes:
            update_many(conn, sessions, "id", self._session_changes)
        for gathered in (
            self._new_accounts,
            self._account_changes,
            self._replaced_roles,
            self._role_changes,
            self._new_sessions,
            self._session_changes,
        ):
            gathered.clear()


ACCOUNT_SORTS = {
    "created_at": accounts.c.created_at,
    "email": accounts.c.email_key,
    "last_name": accounts.c.last_name,
    "status": accounts.c.status,
    "last_login_at": accounts.c.last_login_at,
}

_PUBLIC_COLUMNS = [c for c in accounts.c if c.name not in {"email_key"}]


class AccountsQueries:
    """Reads the accounts read model; never touches aggregates."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, account_id: UUID) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_PUBLIC_COLUMNS).where(accounts.c.id == account_id)).mappings().first()
            if row is None:
                return None
            return self._with_roles(conn, [dict(row)])[0]

    def access_state(self, account_id: UUID, session_id: UUID) -> tuple[str | None, list[str] | None, bool]:
        """(account status, roles, session revoked) for authorizing a bearer token, in one round trip.

        Every authorized request asks this; three queries cost three round trips and most of a
        request's read-store time. Roles are None when the account is not in the read model yet.
        """
        revoked = select(sessions.c.revoked).where(sessions.c.id == session_id).scalar_subquery()
        anchor = select(literal(1).label("one")).subquery()
        statement = select(revoked.label("revoked"), accounts.c.status, account_roles.c.role).select_from(
            anchor.outerjoin(accounts, accounts.c.id == account_id).outerjoin(
                account_roles, account_roles.c.account_id == accounts.c.id
            )
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        status = rows[0].status
        roles = sorted(row.role for row in rows if row.role is not None) if status is not None else None
        return status, roles, bool(rows[0].revoked)

    def search(
        self,
        *,
        limit: int,
        offset: int,
        sort: str,
        status: str | None = None,
        role: str | None = None,
        q: str | None = None,
    ) -> Page:
        conditions = []
        if status:
            conditions.append(accounts.c.status == status)
        if role:
            conditions.append(accounts.c.id.in_(select(account_roles.c.account_id).where(account_roles.c.role == role)))
        if q:
            pattern = like_pattern(q)
            conditions.append(
                or_(
                    accounts.c.email_key.like(pattern, escape="\\"),
                    func.lower(accounts.c.first_name).like(pattern, escape="\\"),
                    func.lower(accounts.c.last_name).like(pattern, escape="\\"),
                )
            )
        if role or q:
            counting = select(func.count()).select_from(accounts).where(*conditions)
        else:
            # Status alone (or nothing): the projection's kept counts, not a count over the rows.
            kept = [account_status_counts.c.status == status] if status else []
            counting = select(func.coalesce(func.sum(account_status_counts.c.accounts), 0)).where(*kept)
        with self.engine.connect() as conn:
            total = int(conn.execute(counting).scalar_one())
            rows = conn.execute(
                select(*_PUBLIC_COLUMNS)
                .where(*conditions)
                .order_by(*order_by(sort, ACCOUNT_SORTS, accounts.c.id))
                .limit(limit)
                .offset(offset)
            ).mappings()
            items = self._with_roles(conn, [dict(r) for r in rows])
        return Page(items=items, total=total, limit=limit, offset=offset)

    @staticmethod
    def _with_roles(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return rows
        ids = [r["id"] for r in rows]
        roles: dict[UUID, list[str]] = {i: [] for i in ids}
        for account_id, role in conn.execute(
            select(account_roles.c.account_id, account_roles.c.role)
            .where(account_roles.c.account_id.in_(ids))
            .order_by(account_roles.c.role)
        ):
            roles[account_id].append(role)
        for row in rows:
            row["roles"] = roles[row["id"]]
        return rows
