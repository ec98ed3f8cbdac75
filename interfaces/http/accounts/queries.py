"""Queries on the accounts read model: your own account, and the admin list / search / detail."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.accounts.permissions import ACCOUNTS_READ, PROFILE_READ
from domain.accounts.values import AccountStatus
from domain.shared.access import Role
from infrastructure.accounts.queries import ACCOUNT_SORTS, AccountsQueries
from interfaces.http.accounts.schemas import AccountList, AccountPublic
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.queries import Paging, found, sort_pattern, waits_for
from interfaces.http.shared.schemas import page_of
from interfaces.http.shared.services import provide

router = APIRouter(tags=["accounts: queries"])

Queries = Annotated[AccountsQueries, provide(AccountsQueries)]
ReadsOwn = Annotated[Principal, Depends(require(PROFILE_READ))]
ReadsAccounts = Annotated[Principal, Depends(require(ACCOUNTS_READ))]
FreshAccounts = waits_for("accounts")


def _account(queries: AccountsQueries, account_id: UUID, response: Response) -> AccountPublic:
    return AccountPublic.model_validate(found(queries.get(account_id), "account", account_id, response))


@router.get("/api/v1/auth/me", dependencies=[FreshAccounts])
def me(principal: ReadsOwn, queries: Queries, response: Response) -> AccountPublic:
    """Your own account, from the accounts read model."""
    return _account(queries, principal.account_id, response)


@router.get("/api/v1/accounts", dependencies=[FreshAccounts])
def list_accounts(
    _: ReadsAccounts,
    queries: Queries,
    paging: Paging,
    sort: Annotated[
        str, Query(pattern=sort_pattern(ACCOUNT_SORTS), description="A field, '-' prefix for descending")
    ] = "-created_at",
    status: AccountStatus | None = None,
    role: Role | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Search email and names")] = None,
) -> AccountList:
    """List and search accounts."""
    limit, offset = paging
    page = queries.search(limit=limit, offset=offset, sort=sort, status=status, role=role, q=q)
    return AccountList.model_validate(page_of(page))


@router.get("/api/v1/accounts/{account_id}", dependencies=[FreshAccounts])
def get_account(account_id: UUID, _: ReadsAccounts, queries: Queries, response: Response) -> AccountPublic:
    """One account, with its version as ETag."""
    return _account(queries, account_id, response)
