"""The accounts read model: one row per account, its roles, and its sessions.

An erased account's row keeps its id, status and times; its personal columns are purged (names and
email read ``ERASED``, phone and birthday empty) when the ``Erased`` event is folded, and a rebuild
after the erasure folds its earlier events with their personal fields already erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.accounts.account import Account
from domain.accounts.session import Session
from domain.accounts.values import AccountStatus, normalize_email
from domain.shared.personal_data import ERASED


class AccountsView(Protocol):
    """What the accounts projection needs from its store (implemented in infrastructure)."""

    def add_account(self, account_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def update_account(self, account_id: UUID, version: int, at: datetime, **fields: Any) -> None: ...

    def add_role(self, account_id: UUID, role: str) -> None: ...

    def remove_role(self, account_id: UUID, role: str) -> None: ...

    def add_session(self, session_id: UUID, account_id: UUID, started_at: datetime, expires_at: datetime) -> None: ...

    def update_session(self, session_id: UUID, at: datetime, **fields: Any) -> None: ...


class AccountsProjection(EventHandlers[AccountsView]):
    """Folds Account and Session events into the accounts read model."""

    name = "accounts"

    @handles(Account.Registered)
    def registered(self, e: Account.Registered, view: AccountsView, meta: dict[str, Any]) -> None:
        view.add_account(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            email=e.email,
            email_key=_email_key(e.originator_id, e.email),
            first_name=e.first_name,
            last_name=e.last_name,
            phone_country_code=e.phone_country_code,
            phone_number=e.phone_number,
            birthday=e.birthday,
            status=AccountStatus.PENDING,
            email_verified=False,
        )
        for role in e.roles:
            view.add_role(e.originator_id, role)

    @handles(Account.EmailVerified)
    def email_verified(self, e: Account.EmailVerified, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(
            e.originator_id, e.originator_version, e.timestamp, email_verified=True, status=AccountStatus.ACTIVE
        )

    @handles(Account.LoginSucceeded)
    def login_succeeded(self, e: Account.LoginSucceeded, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            last_login_at=e.timestamp,
            failed_logins=0,
            locked_until=None,
        )

    @handles(Account.LoginFailed)
    def login_failed(self, e: Account.LoginFailed, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(e.originator_id, e.originator_version, e.timestamp, failed_logins=e.failures)

    @handles(Account.LockedOut)
    def locked_out(self, e: Account.LockedOut, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(e.originator_id, e.originator_version, e.timestamp, failed_logins=0, locked_until=e.until)

    @handles(Account.PasswordReset)
    def password_reset(self, e: Account.PasswordReset, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(e.originator_id, e.originator_version, e.timestamp, failed_logins=0, locked_until=None)

    @handles(Account.EmailVerificationRequested)
    @handles(Account.PasswordResetRequested)
    @handles(Account.PasswordChanged)
    @handles(Account.TwoFactorEnrolled)
    @handles(Account.TwoFactorEnabled)
    @handles(Account.TwoFactorDisabled)
    @handles(Account.SecondFactorChallenged)
    @handles(Account.OneTimeCodeUsed)
    @handles(Account.RecoveryCodeUsed)
    def version_only(self, e: Any, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(e.originator_id, e.originator_version, e.timestamp)

    @handles(Account.ProfileUpdated)
    def profile_updated(self, e: Account.ProfileUpdated, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            first_name=e.first_name,
            last_name=e.last_name,
            phone_country_code=e.phone_country_code,
            phone_number=e.phone_number,
            birthday=e.birthday,
        )

    @handles(Account.RoleAssigned)
    def role_assigned(self, e: Account.RoleAssigned, view: AccountsView, meta: dict[str, Any]) -> None:
        view.add_role(e.originator_id, e.role)
        view.update_account(e.originator_id, e.originator_version, e.timestamp)

    @handles(Account.RoleRevoked)
    def role_revoked(self, e: Account.RoleRevoked, view: AccountsView, meta: dict[str, Any]) -> None:
        view.remove_role(e.originator_id, e.role)
        view.update_account(e.originator_id, e.originator_version, e.timestamp)

    @handles(Account.Suspended)
    def suspended(self, e: Account.Suspended, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(e.originator_id, e.originator_version, e.timestamp, status=AccountStatus.SUSPENDED)

    @handles(Account.Reactivated)
    def reactivated(self, e: Account.Reactivated, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(e.originator_id, e.originator_version, e.timestamp, status=e.status)

    @handles(Account.Closed)
    def closed(self, e: Account.Closed, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(
            e.originator_id, e.originator_version, e.timestamp, status=AccountStatus.CLOSED, closed_at=e.timestamp
        )

    @handles(Account.Erased)
    def erased(self, e: Account.Erased, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_account(
            e.originator_id,
            e.originator_version,
            e.timestamp,
            email=ERASED,
            email_key=_email_key(e.originator_id, ERASED),
            first_name=ERASED,
            last_name=ERASED,
            phone_country_code=None,
            phone_number=None,
            birthday=None,
        )

    @handles(Session.Started)
    def session_started(self, e: Session.Started, view: AccountsView, meta: dict[str, Any]) -> None:
        view.add_session(e.originator_id, e.account_id, e.timestamp, e.expires_at)

    @handles(Session.Rotated)
    def session_rotated(self, e: Session.Rotated, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_session(e.originator_id, e.timestamp, expires_at=e.expires_at)

    @handles(Session.Revoked)
    def session_revoked(self, e: Session.Revoked, view: AccountsView, meta: dict[str, Any]) -> None:
        view.update_session(e.originator_id, e.timestamp, revoked=True, revoked_reason=e.reason)


def _email_key(account_id: UUID, email: str) -> str:
    """The row's unique email key; an erased address keeps every erased row distinct (and says nothing)."""
    return f"{ERASED}{account_id}" if email == ERASED else normalize_email(email)
