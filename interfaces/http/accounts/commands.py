"""Admin commands on accounts: roles, suspension, reactivation, closing, erasure."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from application.accounts.application import AccountsApplication
from domain.accounts.permissions import ACCOUNTS_ERASE, ACCOUNTS_MANAGE, ROLES_ASSIGN
from interfaces.http.accounts.schemas import RoleRequest
from interfaces.http.shared.auth import Principal, require
from interfaces.http.shared.commands import Cmd
from interfaces.http.shared.schemas import CommandAccepted, ReasonBody
from interfaces.http.shared.services import provide

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts: commands"])

Accounts = Annotated[AccountsApplication, provide(AccountsApplication)]
RoleAdmin = Annotated[Principal, Depends(require(ROLES_ASSIGN))]
AccountAdmin = Annotated[Principal, Depends(require(ACCOUNTS_MANAGE))]
Eraser = Annotated[Principal, Depends(require(ACCOUNTS_ERASE))]


@router.post("/{account_id}/roles")
def assign_role(account_id: UUID, body: RoleRequest, cmd: Cmd, accounts: Accounts, _: RoleAdmin) -> CommandAccepted:
    """Grant a role to an account."""
    return cmd.accepted(accounts.assign_role(cmd.ctx, account_id, body.role, expected_version=cmd.expected_version))


@router.delete("/{account_id}/roles/{role}")
def revoke_role(account_id: UUID, role: str, cmd: Cmd, accounts: Accounts, _: RoleAdmin) -> CommandAccepted:
    """Take a role away from an account."""
    return cmd.accepted(accounts.revoke_role(cmd.ctx, account_id, role, expected_version=cmd.expected_version))


@router.post("/{account_id}/suspend")
def suspend(account_id: UUID, body: ReasonBody, cmd: Cmd, accounts: Accounts, _: AccountAdmin) -> CommandAccepted:
    """Suspend an account: it can no longer log in or act until reactivated."""
    result = accounts.suspend_account(cmd.ctx, account_id, body.reason, expected_version=cmd.expected_version)
    return cmd.accepted(result)


@router.post("/{account_id}/reactivate")
def reactivate(account_id: UUID, cmd: Cmd, accounts: Accounts, _: AccountAdmin) -> CommandAccepted:
    """Lift a suspension."""
    return cmd.accepted(accounts.reactivate_account(cmd.ctx, account_id, expected_version=cmd.expected_version))


@router.post("/{account_id}/close")
def close(account_id: UUID, body: ReasonBody, cmd: Cmd, accounts: Accounts, _: AccountAdmin) -> CommandAccepted:
    """Close an account for good; its history stays."""
    result = accounts.close_account(cmd.ctx, account_id, body.reason, expected_version=cmd.expected_version)
    return cmd.accepted(result)


@router.post("/{account_id}/erase")
def erase(account_id: UUID, cmd: Cmd, accounts: Accounts, _: Eraser) -> CommandAccepted:
    """Erase an account's personal data for good (crypto-shredding), closing it if open.

    Its key is destroyed: names, phone, birthday and email read as erased in every event, the audit
    API and the read models; the ``Erased`` event records who did it and when. An account already
    erased answers 409 ``account_erased``.
    """
    return cmd.accepted(accounts.erase_account(cmd.ctx, account_id, expected_version=cmd.expected_version))
