"""Queries on the accounts read model; never touches aggregates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypedDict, cast
from uuid import UUID

from sqlalchemy import Connection, Engine, Select, bindparam, func, literal, or_, select

from application.shared.ports import AccessState
from domain.accounts.values import AccountStatus
from infrastructure.accounts.tables import account_roles, account_status_counts, accounts, sessions
from infrastructure.shared.readstore import Page, like_pattern, one_snapshot, order_by
from projections.accounts.projection import AccountsProjection

ACCOUNT_SORTS = {
    "created_at": accounts.c.created_at,
    "email": accounts.c.email_key,
    "last_name": accounts.c.last_name,
    "status": accounts.c.status,
    "last_login_at": accounts.c.last_login_at,
}

_PUBLIC_COLUMNS = [c for c in accounts.c if c.name not in {"email_key"}]


class AccountRow(TypedDict):
    id: UUID
    email: str
    first_name: str
    last_name: str
    phone_country_code: str | None
    phone_number: str | None
    birthday: date | None
    roles: list[str]
    status: str
    email_verified: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int


# Statuses whose accounts may not act at all, whatever their token says.
_BARRED = frozenset({AccountStatus.SUSPENDED, AccountStatus.CLOSED})


def _access_state_statement() -> Select[Any]:
    """Built once: a request pays for the parameters only, not for composing (and caching) the statement."""
    anchor = select(literal(1).label("one")).subquery()
    account_id = bindparam("account_id", type_=accounts.c.id.type)
    return select(
        sessions.c.account_id.label("session_account"),
        sessions.c.revoked,
        accounts.c.status,
        account_roles.c.role,
    ).select_from(
        anchor.outerjoin(sessions, sessions.c.id == bindparam("session_id", type_=sessions.c.id.type))
        .outerjoin(accounts, accounts.c.id == account_id)
        .outerjoin(account_roles, account_roles.c.account_id == accounts.c.id)
    )


_ACCESS_STATE = _access_state_statement()


class AccountsQueries:
    """Reads the accounts read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, account_id: UUID) -> AccountRow | None:
        with one_snapshot(self.engine) as conn:  # the row and its roles as of the same batch
            row = conn.execute(select(*_PUBLIC_COLUMNS).where(accounts.c.id == account_id)).mappings().first()
            if row is None:
                return None
            return self._with_roles(conn, [dict(row)])[0]

    @property
    def read_model(self) -> str:
        """The projection these answers come from (authorization waits on it, and fails closed when it lags)."""
        return AccountsProjection.name

    def access_state(self, account_id: UUID, session_id: UUID) -> AccessState:
        """Roles, status and the session of a bearer token, in one round trip.

        Every authorized request asks this; three queries cost three round trips and most of a
        request's read-store time. Roles are None when the account is not in the read model (yet);
        a session that is not there, or is another account's, is not known.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(_ACCESS_STATE, {"account_id": account_id, "session_id": session_id}).all()
        first = rows[0]
        status = first.status
        roles = tuple(sorted(row.role for row in rows if row.role is not None)) if status is not None else None
        return AccessState(
            roles=roles,
            session_known=first.session_account == account_id,
            session_revoked=bool(first.revoked),
            barred=status if status in _BARRED else None,
        )

    def search(
        self,
        *,
        limit: int,
        offset: int,
        sort: str,
        status: str | None = None,
        role: str | None = None,
        q: str | None = None,
    ) -> Page[AccountRow]:
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
        with one_snapshot(self.engine) as conn:  # the total, the page and its roles as of the same batch
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
    def _with_roles(conn: Connection, rows: list[dict[str, Any]]) -> list[AccountRow]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        roles: dict[UUID, list[str]] = {i: [] for i in ids}
        for account_id, role in conn.execute(
            select(account_roles.c.account_id, account_roles.c.role)
            .where(account_roles.c.account_id.in_(ids))
            .order_by(account_roles.c.role)
        ):
            roles[account_id].append(role)
        return [cast(AccountRow, {**row, "roles": roles[row["id"]]}) for row in rows]
