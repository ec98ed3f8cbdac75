"""Admin commands on accounts: roles, suspension, reactivation, closing."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from domain.permissions import ACCOUNTS_MANAGE, ROLES_ASSIGN
from interfaces.http.deps import AccountsApp, Ctx, ExpectedVersion, Principal, accepted, require
from interfaces.http.schemas import CommandAccepted, ReasonRequest, RoleRequest

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts: commands"])

RoleAdmin = Annotated[Principal, Depends(require(ROLES_ASSIGN))]
AccountAdmin = Annotated[Principal, Depends(require(ACCOUNTS_MANAGE))]


@router.post("/{account_id}/roles")
def assign_role(
    account_id: UUID,
    body: RoleRequest,
    ctx: Ctx,
    accounts: AccountsApp,
    version: ExpectedVersion,
    response: Response,
    _: RoleAdmin,
) -> CommandAccepted:
    """Grant a role to an account."""
    return accepted(accounts.assign_role(ctx, account_id, body.role, expected_version=version), response)


@router.delete("/{account_id}/roles/{role}")
def revoke_role(
    account_id: UUID,
    role: str,
    ctx: Ctx,
    accounts: AccountsApp,
    version: ExpectedVersion,
    response: Response,
    _: RoleAdmin,
) -> CommandAccepted:
    """Take a role away from an account."""
    return accepted(accounts.revoke_role(ctx, account_id, role, expected_version=version), response)


@router.post("/{account_id}/suspend")
def suspend(
    account_id: UUID,
    body: ReasonRequest,
    ctx: Ctx,
    accounts: AccountsApp,
    version: ExpectedVersion,
    response: Response,
    _: AccountAdmin,
) -> CommandAccepted:
    """Suspend an account: it can no longer log in or act until reactivated."""
    return accepted(accounts.suspend(ctx, account_id, body.reason, expected_version=version), response)


@router.post("/{account_id}/reactivate")
def reactivate(
    account_id: UUID, ctx: Ctx, accounts: AccountsApp, version: ExpectedVersion, response: Response, _: AccountAdmin
) -> CommandAccepted:
    """Lift a suspension."""
    return accepted(accounts.reactivate(ctx, account_id, expected_version=version), response)


@router.post("/{account_id}/close")
def close(
    account_id: UUID,
    body: ReasonRequest,
    ctx: Ctx,
    accounts: AccountsApp,
    version: ExpectedVersion,
    response: Response,
    _: AccountAdmin,
) -> CommandAccepted:
    """Close an account for good; its history stays."""
    return accepted(accounts.close_account(ctx, account_id, body.reason, expected_version=version), response)
