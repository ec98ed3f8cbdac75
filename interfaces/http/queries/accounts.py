"""Queries on the accounts read model: your own account, and the admin list / search / detail."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from domain.permissions import ACCOUNTS_READ, PROFILE_READ
from infrastructure.accounts_readmodel import ACCOUNT_SORTS
from interfaces.http.deps import ContainerDep, Paging, Principal, found, page_body, require, waits_for
from interfaces.http.schemas import AccountList, AccountPublic

router = APIRouter(tags=["accounts: queries"])

ReadsOwn = Annotated[Principal, Depends(require(PROFILE_READ))]
ReadsAccounts = Annotated[Principal, Depends(require(ACCOUNTS_READ))]
FreshAccounts = Depends(waits_for("accounts"))

_SORT_PATTERN = "^-?(" + "|".join(ACCOUNT_SORTS) + ")$"
Status = Literal["pending_verification", "active", "suspended", "closed"]


def _account(container: ContainerDep, account_id: UUID, response: Response) -> AccountPublic:
    return AccountPublic.model_validate(
        found(container.account_queries.get(account_id), "account", account_id, response)
    )


@router.get("/api/v1/auth/me", dependencies=[FreshAccounts])
def me(principal: ReadsOwn, container: ContainerDep, response: Response) -> AccountPublic:
    """Your own account, from the accounts read model."""
    return _account(container, principal.account_id, response)


@router.get("/api/v1/accounts", dependencies=[FreshAccounts])
def list_accounts(
    _: ReadsAccounts,
    container: ContainerDep,
    paging: Paging,
    sort: Annotated[
        str, Query(pattern=_SORT_PATTERN, description="A field, '-' prefix for descending")
    ] = "-created_at",
    status: Status | None = None,
    role: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Search email and names")] = None,
) -> AccountList:
    """List and search accounts."""
    limit, offset = paging
    page = container.account_queries.search(limit=limit, offset=offset, sort=sort, status=status, role=role, q=q)
    return AccountList.model_validate(page_body(page))


@router.get("/api/v1/accounts/{account_id}", dependencies=[FreshAccounts])
def get_account(account_id: UUID, _: ReadsAccounts, container: ContainerDep, response: Response) -> AccountPublic:
    """One account, with its version as ETag."""
    return _account(container, account_id, response)
