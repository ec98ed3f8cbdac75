"""The Accounts context's named errors."""

from __future__ import annotations

from datetime import datetime

from domain.shared.errors import Category, DomainError


class AccountClosed(DomainError):
    code = "account_closed"
    title = "The account is closed"


class AccountAlreadyErased(DomainError):
    code = "account_erased"
    title = "The account's personal data was already erased"


class AccountSuspended(DomainError):
    code = "account_suspended"
    title = "The account is suspended"
    category = Category.FORBIDDEN


class AccountAlreadySuspended(DomainError):
    code = "account_already_suspended"
    title = "The account is already suspended"


class AccountNotSuspended(DomainError):
    code = "account_not_suspended"
    title = "The account is not suspended"


class AccountLocked(DomainError):
    code = "account_locked"
    title = "Too many failed logins; the account is locked for a while"
    category = Category.LOCKED

    def __init__(self, until: datetime) -> None:
        self.until = until
        self.retry_at = until
        super().__init__(f"The account is locked until {until.isoformat()}")


class EmailNotVerified(DomainError):
    code = "email_not_verified"
    title = "The email address has not been verified yet"
    category = Category.FORBIDDEN


class EmailAlreadyVerified(DomainError):
    code = "email_already_verified"
    title = "The email address is already verified"


class InvalidToken(DomainError):
    code = "invalid_token"
    title = "The token is invalid, used or expired"
    category = Category.BAD_TOKEN


class UnknownRole(DomainError):
    code = "unknown_role"
    title = "No such role"
    category = Category.INVALID


class RoleAlreadyAssigned(DomainError):
    code = "role_already_assigned"
    title = "The account already has this role"


class RoleNotAssigned(DomainError):
    code = "role_not_assigned"
    title = "The account does not have this role"


class DefaultRoleRequired(DomainError):
    code = "default_role_required"
    title = "Every account keeps the default role"


class InvalidProfile(DomainError):
    code = "invalid_profile"
    title = "The profile is not valid"
    category = Category.INVALID


class WeakPassword(DomainError):
    code = "weak_password"
    title = "Passwords need at least 8 characters with a letter and a digit"
    category = Category.INVALID


class EmailTaken(DomainError):
    code = "email_taken"
    title = "An account with this email already exists"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    title = "The email or password is wrong"
    category = Category.UNAUTHENTICATED


class TwoFactorAlreadyEnabled(DomainError):
    code = "two_factor_already_enabled"
    title = "Two-factor login is already on; disable it before enrolling again"


class TwoFactorNotEnrolled(DomainError):
    code = "two_factor_not_enrolled"
    title = "There is no two-factor enrolment to confirm; enrol first"


class TwoFactorNotEnabled(DomainError):
    code = "two_factor_not_enabled"
    title = "Two-factor login is not on for this account"


class SecondFactorRequired(DomainError):
    code = "second_factor_required"
    title = "This account logs in with a second factor"


class InvalidSecondFactor(DomainError):
    code = "invalid_second_factor"
    title = "The code is wrong, already used or expired"
    category = Category.UNAUTHENTICATED


class InvalidLoginChallenge(DomainError):
    code = "invalid_login_challenge"
    title = "The login challenge is invalid, used or expired; log in again"
    category = Category.UNAUTHENTICATED
