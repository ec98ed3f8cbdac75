"""The accounts read model's tables: one row per account, its roles, its sessions, and counts by status."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    func,
    select,
)
from sqlalchemy import Uuid as SqlUuid

from infrastructure.shared.readstore import UtcDateTime, metadata, projection_tracking

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
