"""Value objects and policies of the Accounts context: profile, pending tokens, login and password rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from domain.accounts.errors import AccountLocked, InvalidProfile, WeakPassword
from domain.shared.unique_key import EMAIL_MAC_SCOPE, EMAIL_SCOPE, unique_id


class AccountStatus(StrEnum):
    PENDING = "pending_verification"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
_PASSWORD_LETTER = re.compile(r"[^\W\d_]")
_PASSWORD_DIGIT = re.compile(r"\d")


def check_password_strength(password: str) -> None:
    """The password policy: at least 8 characters, at least one letter and one digit."""
    if (
        len(password) < PASSWORD_MIN_LENGTH
        or not _PASSWORD_LETTER.search(password)
        or not _PASSWORD_DIGIT.search(password)
    ):
        raise WeakPassword()


@dataclass(frozen=True)
class Profile:
    """Personal data an account holder may change."""

    first_name: str
    last_name: str
    phone_country_code: str | None = None
    phone_number: str | None = None
    birthday: date | None = None

    def __post_init__(self) -> None:
        if not self.first_name.strip() or not self.last_name.strip():
            raise InvalidProfile("First and last name must not be empty")
        if (self.phone_country_code is None) != (self.phone_number is None):
            raise InvalidProfile("A phone needs both a country code and a mobile number, or neither")


@dataclass(frozen=True)
class PendingToken:
    """An emailed token's nonce and when it stops being accepted."""

    nonce: str
    expires_at: datetime

    def accepts(self, nonce: str, now: datetime) -> bool:
        return self.nonce == nonce and now < self.expires_at


@dataclass(frozen=True)
class LoginPolicy:
    """How many consecutive failures lock an account, and for how long."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)

    def locks_at(self, failures: int) -> bool:
        return failures >= self.max_failures


@dataclass(frozen=True)
class LoginFailures:
    """Consecutive failed logins and the lock they led to: the lockout rule in one place.

    An account keeps these in its history; an email without an account (unknown or closed) keeps
    them in a counter outside the log, under the same rule, so both are answered alike.
    """

    failures: int = 0
    locked_until: datetime | None = None

    def check_not_locked(self, now: datetime) -> None:
        if self.locked_until is not None and now < self.locked_until:
            raise AccountLocked(self.locked_until)

    def after_failure(self, now: datetime, policy: LoginPolicy) -> LoginFailures:
        """The state after one more failure (the caller checked the lock): the one that reaches the limit locks."""
        failures = self.failures + 1
        if policy.locks_at(failures):
            return LoginFailures(0, now + policy.lockout)
        return LoginFailures(failures, self.locked_until)


def normalize_email(email: str) -> str:
    """The key under which an email is unique: trimmed and case-folded."""
    return email.strip().lower()


def email_claim_id(email: str) -> UUID:
    """The id of the ``UniqueKey`` stream that older code claimed ``email`` with (the address in clear).

    New claims are keyed by an HMAC of the address (``EMAIL_MAC_SCOPE``); these are still read.
    """
    return unique_id(EMAIL_SCOPE, normalize_email(email))


def email_mac_claim_id(mac: str) -> UUID:
    """The id of the ``UniqueKey`` stream that holds an address by its keyed hash."""
    return unique_id(EMAIL_MAC_SCOPE, mac)
