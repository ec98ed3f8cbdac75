"""The Account aggregate: identity, credentials, roles and lifecycle.

Invariants:
- the email is stored as given and compared case-insensitively (``email_key``);
- a phone is a country code and a mobile number, both or neither;
- a closed account accepts no further command;
- a suspended account cannot log in or change its own data until reactivated;
- ``failed_logins`` counts consecutive failures; the failure that reaches the limit
  locks the account until ``locked_until`` and starts the count again;
- roles only ever contain known roles, and never nothing: ``user`` is the floor;
- two-factor login is on only after an enrolment was confirmed with a code; while it is on, a
  password alone never logs in (it only opens a short-lived challenge); a code's time step is
  accepted once and a recovery code once;
- an erased account is closed for good: its personal fields (email, names, phone, birthday) are
  sealed with the account's own key in every event and snapshot, and read as ``ERASED`` (the
  birthday as ``None``) once erasure destroyed that key; it accepts no command, erasure included.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.accounts.errors import (
    AccountAlreadyErased,
    AccountAlreadySuspended,
    AccountClosed,
    AccountNotSuspended,
    AccountSuspended,
    DefaultRoleRequired,
    EmailAlreadyVerified,
    EmailNotVerified,
    InvalidLoginChallenge,
    InvalidToken,
    RoleAlreadyAssigned,
    RoleNotAssigned,
    SecondFactorRequired,
    TwoFactorAlreadyEnabled,
    TwoFactorNotEnabled,
    TwoFactorNotEnrolled,
    UnknownRole,
)
from domain.accounts.two_factor import TwoFactor
from domain.accounts.values import (
    AccountStatus,
    LoginFailures,
    LoginPolicy,
    PendingToken,
    Profile,
    normalize_email,
)
from domain.shared.access import DEFAULT_ROLE, ROLES
from domain.shared.personal_data import ERASED, DefersPersonalState, PersonalFields
from domain.shared.topics import moved

# What the personal fields of an account's events read as once it is erased.
_PROFILE_ERASED: PersonalFields = {
    "first_name": ERASED,
    "last_name": ERASED,
    "phone_country_code": ERASED,
    "phone_number": ERASED,
    "birthday": None,
}


class Account(DefersPersonalState, Aggregate):
    """An identity that can log in, holds roles, and can be suspended, closed or erased."""

    # Defaults for snapshots taken before two-factor login (or erasure) existed.
    two_factor: TwoFactor = TwoFactor()
    login_challenge: PendingToken | None = None
    erased: bool = False

    # The personal parts of a snapshot's state (dotted paths), sealed like the events' fields.
    personal_state: ClassVar[PersonalFields] = {
        "email": ERASED,
        **{f"profile.{name}": value for name, value in _PROFILE_ERASED.items()},
    }

    class Registered(Aggregate.Created):
        personal_fields: ClassVar[PersonalFields] = {"email": ERASED, **_PROFILE_ERASED}

        email: str
        first_name: str
        last_name: str
        phone_country_code: str | None
        phone_number: str | None
        birthday: date | None
        password_hash: str
        roles: list[str]

    class EmailVerificationRequested(Aggregate.Event):
        nonce: str
        expires_at: datetime

        def apply(self, account: Account) -> None:
            account.verification = PendingToken(self.nonce, self.expires_at)

    class EmailVerified(Aggregate.Event):
        def apply(self, account: Account) -> None:
            account.email_verified = True
            account.verification = None
            if account.status == AccountStatus.PENDING:
                account.status = AccountStatus.ACTIVE

    class LoginSucceeded(Aggregate.Event):
        session_id: UUID

        def apply(self, account: Account) -> None:
            account.failed_logins = 0
            account.locked_until = None
            account.last_login_at = self.timestamp
            account.login_challenge = None

    class LoginFailed(Aggregate.Event):
        failures: int

        def apply(self, account: Account) -> None:
            account.failed_logins = self.failures

    class LockedOut(Aggregate.Event):
        until: datetime

        def apply(self, account: Account) -> None:
            account.failed_logins = 0
            account.locked_until = self.until

    class PasswordChanged(Aggregate.Event):
        password_hash: str

        def apply(self, account: Account) -> None:
            account.password_hash = self.password_hash
            account.login_challenge = None

    class PasswordResetRequested(Aggregate.Event):
        nonce: str
        expires_at: datetime

        def apply(self, account: Account) -> None:
            account.password_reset = PendingToken(self.nonce, self.expires_at)

    class PasswordReset(Aggregate.Event):
        password_hash: str

        def apply(self, account: Account) -> None:
            account.password_hash = self.password_hash
            account.password_reset = None
            account.failed_logins = 0
            account.locked_until = None
            account.login_challenge = None

    class ProfileUpdated(Aggregate.Event):
        personal_fields: ClassVar[PersonalFields] = _PROFILE_ERASED

        first_name: str
        last_name: str
        phone_country_code: str | None
        phone_number: str | None
        birthday: date | None

        def apply(self, account: Account) -> None:
            account.profile = Profile(
                self.first_name, self.last_name, self.phone_country_code, self.phone_number, self.birthday
            )

    class RoleAssigned(Aggregate.Event):
        role: str

        def apply(self, account: Account) -> None:
            account.roles = sorted({*account.roles, self.role})

    class RoleRevoked(Aggregate.Event):
        role: str

        def apply(self, account: Account) -> None:
            account.roles = sorted(set(account.roles) - {self.role})

    class Suspended(Aggregate.Event):
        reason: str

        def apply(self, account: Account) -> None:
            account.status = AccountStatus.SUSPENDED

    class Reactivated(Aggregate.Event):
        status: str

        def apply(self, account: Account) -> None:
            account.status = self.status

    class Closed(Aggregate.Event):
        reason: str
        by_owner: bool

        def apply(self, account: Account) -> None:
            account.status = AccountStatus.CLOSED
            account.verification = None
            account.password_reset = None
            account.login_challenge = None

    class Erased(Aggregate.Event):
        """The account's key was destroyed: its personal fields read as erased from now on, everywhere.

        Who erased it is the event's actor (its metadata); ``by_owner`` says whether the holder asked.
        """

        by_owner: bool

        def apply(self, account: Account) -> None:
            account.erased = True
            account.status = AccountStatus.CLOSED
            account.email = ERASED
            account.profile = Profile(ERASED, ERASED, None, None, None)
            account.password_hash = ""
            account.verification = None
            account.password_reset = None
            account.login_challenge = None
            account.two_factor = TwoFactor()

    class TwoFactorEnrolled(Aggregate.Event):
        sealed_secret: str

        def apply(self, account: Account) -> None:
            account.two_factor = TwoFactor(sealed_secret=self.sealed_secret)

    class TwoFactorEnabled(Aggregate.Event):
        recovery_code_hashes: list[str]
        step: int

        def apply(self, account: Account) -> None:
            account.two_factor = replace(
                account.two_factor,
                enabled=True,
                recovery_code_hashes=list(self.recovery_code_hashes),
                last_step=self.step,
            )

    class TwoFactorDisabled(Aggregate.Event):
        def apply(self, account: Account) -> None:
            account.two_factor = TwoFactor()
            account.login_challenge = None

    class SecondFactorChallenged(Aggregate.Event):
        nonce: str
        expires_at: datetime

        def apply(self, account: Account) -> None:
            account.login_challenge = PendingToken(self.nonce, self.expires_at)

    class OneTimeCodeUsed(Aggregate.Event):
        step: int

        def apply(self, account: Account) -> None:
            account.two_factor = replace(account.two_factor, last_step=self.step)

    class RecoveryCodeUsed(Aggregate.Event):
        index: int

        def apply(self, account: Account) -> None:
            used = sorted({*account.two_factor.recovery_codes_used, self.index})
            account.two_factor = replace(account.two_factor, recovery_codes_used=used)

    def __init__(
        self,
        email: str,
        first_name: str,
        last_name: str,
        phone_country_code: str | None,
        phone_number: str | None,
        birthday: date | None,
        password_hash: str,
        roles: list[str],
    ) -> None:
        self.email = email
        self.profile = Profile(first_name, last_name, phone_country_code, phone_number, birthday)
        self.password_hash = password_hash
        self.roles = sorted(roles)
        self.status: str = AccountStatus.PENDING
        self.email_verified = False
        self.verification: PendingToken | None = None
        self.password_reset: PendingToken | None = None
        self.failed_logins = 0
        self.locked_until: datetime | None = None
        self.last_login_at: datetime | None = None
        self.two_factor = TwoFactor()
        self.login_challenge = None

    @classmethod
    def register(
        cls,
        *,
        account_id: UUID,
        email: str,
        profile: Profile,
        password_hash: str,
        now: datetime,
        roles: list[str] | None = None,
    ) -> Account:
        granted = sorted({DEFAULT_ROLE, *(roles or [])})
        for role in granted:
            _check_role(role)
        return cls._create(
            cls.Registered,
            id=account_id,
            timestamp=now,
            email=email.strip(),
            first_name=profile.first_name,
            last_name=profile.last_name,
            phone_country_code=profile.phone_country_code,
            phone_number=profile.phone_number,
            birthday=profile.birthday,
            password_hash=password_hash,
            roles=granted,
        )

    @property
    def email_key(self) -> str:
        return normalize_email(self.email)

    # --- verification -------------------------------------------------------------

    def request_email_verification(self, *, nonce: str, expires_at: datetime, now: datetime) -> None:
        self._check_open()
        if self.email_verified:
            raise EmailAlreadyVerified()
        self.trigger_event(self.EmailVerificationRequested, nonce=nonce, expires_at=expires_at, timestamp=now)

    def verify_email(self, *, nonce: str | None, now: datetime) -> None:
        """Verify with the nonce of the pending request; ``None`` verifies without one (auto-verify)."""
        self._check_open()
        if self.email_verified:
            raise EmailAlreadyVerified()
        if nonce is not None and not (self.verification and self.verification.accepts(nonce, now)):
            raise InvalidToken()
        self.trigger_event(self.EmailVerified, timestamp=now)

    # --- login --------------------------------------------------------------------

    @property
    def login_failures(self) -> LoginFailures:
        return LoginFailures(self.failed_logins, self.locked_until)

    def check_not_locked(self, now: datetime) -> None:
        self.login_failures.check_not_locked(now)

    def record_failed_login(self, *, now: datetime, policy: LoginPolicy) -> None:
        self._check_open()
        self.check_not_locked(now)
        locked_until = self.locked_until
        after = self.login_failures.after_failure(now, policy)
        self.trigger_event(self.LoginFailed, failures=self.failed_logins + 1, timestamp=now)
        if after.locked_until != locked_until:
            self.trigger_event(self.LockedOut, until=after.locked_until, timestamp=now)

    def record_login(self, *, session_id: UUID, now: datetime) -> None:
        """A successful login with the right password; refused while locked, suspended or unverified,
        and for an account with two-factor login on (its password only opens a challenge)."""
        self._check_can_log_in(now)
        if self.two_factor.enabled:
            raise SecondFactorRequired()
        self.trigger_event(self.LoginSucceeded, session_id=session_id, timestamp=now)

    def challenge_second_factor(self, *, nonce: str, expires_at: datetime, now: datetime) -> None:
        """The password was right and two-factor login is on: a code must follow before ``expires_at``."""
        self._check_can_log_in(now)
        if not self.two_factor.enabled:
            raise TwoFactorNotEnabled()
        self.trigger_event(self.SecondFactorChallenged, nonce=nonce, expires_at=expires_at, timestamp=now)

    def record_login_with_code(self, *, nonce: str, step: int | None, session_id: UUID, now: datetime) -> None:
        """The second step with a TOTP code: ``step`` is the time step it matched, ``None`` for a wrong code."""
        self._check_challenge(nonce, now)
        self.trigger_event(self.OneTimeCodeUsed, step=self.two_factor.check_step(step), timestamp=now)
        self.trigger_event(self.LoginSucceeded, session_id=session_id, timestamp=now)

    def record_login_with_recovery_code(self, *, nonce: str, code_hash: str, session_id: UUID, now: datetime) -> None:
        """The second step with a recovery code (its keyed hash); each one works once."""
        self._check_challenge(nonce, now)
        self.trigger_event(self.RecoveryCodeUsed, index=self.two_factor.recovery_index(code_hash), timestamp=now)
        self.trigger_event(self.LoginSucceeded, session_id=session_id, timestamp=now)

    def _check_can_log_in(self, now: datetime) -> None:
        self.ensure_usable()
        self.check_not_locked(now)
        if not self.email_verified:
            raise EmailNotVerified()

    def _check_challenge(self, nonce: str, now: datetime) -> None:
        self._check_can_log_in(now)
        challenge = self.login_challenge
        if not (self.two_factor.enabled and challenge and challenge.accepts(nonce, now)):
            raise InvalidLoginChallenge()

    # --- two-factor enrolment -----------------------------------------------------

    def enrol_two_factor(self, *, sealed_secret: str, now: datetime) -> None:
        """Start (or restart) an enrolment with a new sealed seed; it is off until confirmed."""
        self.ensure_usable()
        if self.two_factor.enabled:
            raise TwoFactorAlreadyEnabled()
        self.trigger_event(self.TwoFactorEnrolled, sealed_secret=sealed_secret, timestamp=now)

    def confirm_two_factor(self, *, step: int | None, recovery_code_hashes: list[str], now: datetime) -> None:
        """Turn two-factor login on with a current code of the enrolled seed."""
        self.ensure_usable()
        if self.two_factor.enabled:
            raise TwoFactorAlreadyEnabled()
        if not self.two_factor.pending:
            raise TwoFactorNotEnrolled()
        self.trigger_event(
            self.TwoFactorEnabled,
            recovery_code_hashes=list(recovery_code_hashes),
            step=self.two_factor.check_step(step),
            timestamp=now,
        )

    def disable_two_factor(self, *, step: int | None, now: datetime) -> None:
        """Turn two-factor login off with a current code (the application checked the password)."""
        self.ensure_usable()
        if not self.two_factor.enabled:
            raise TwoFactorNotEnabled()
        self.two_factor.check_step(step)
        self.trigger_event(self.TwoFactorDisabled, timestamp=now)

    # --- credentials --------------------------------------------------------------

    def change_password(self, *, password_hash: str, now: datetime) -> None:
        self.ensure_usable()
        self.trigger_event(self.PasswordChanged, password_hash=password_hash, timestamp=now)

    def request_password_reset(self, *, nonce: str, expires_at: datetime, now: datetime) -> None:
        self.ensure_usable()
        self.trigger_event(self.PasswordResetRequested, nonce=nonce, expires_at=expires_at, timestamp=now)

    def reset_password(self, *, nonce: str, password_hash: str, now: datetime) -> None:
        self.ensure_usable()
        if not (self.password_reset and self.password_reset.accepts(nonce, now)):
            raise InvalidToken()
        self.trigger_event(self.PasswordReset, password_hash=password_hash, timestamp=now)

    # --- profile and administration ----------------------------------------------

    def update_profile(self, *, profile: Profile, now: datetime) -> None:
        self.ensure_usable()
        self.trigger_event(
            self.ProfileUpdated,
            first_name=profile.first_name,
            last_name=profile.last_name,
            phone_country_code=profile.phone_country_code,
            phone_number=profile.phone_number,
            birthday=profile.birthday,
            timestamp=now,
        )

    def assign_role(self, *, role: str, now: datetime) -> None:
        self._check_open()
        _check_role(role)
        if role in self.roles:
            raise RoleAlreadyAssigned(f"The account already has the role {role!r}")
        self.trigger_event(self.RoleAssigned, role=role, timestamp=now)

    def revoke_role(self, *, role: str, now: datetime) -> None:
        self._check_open()
        _check_role(role)
        if role not in self.roles:
            raise RoleNotAssigned(f"The account does not have the role {role!r}")
        if role == DEFAULT_ROLE:
            raise DefaultRoleRequired(f"The {DEFAULT_ROLE!r} role is every account's floor and cannot be revoked")
        self.trigger_event(self.RoleRevoked, role=role, timestamp=now)

    def suspend(self, *, reason: str, now: datetime) -> None:
        self._check_open()
        if self.status == AccountStatus.SUSPENDED:
            raise AccountAlreadySuspended()
        self.trigger_event(self.Suspended, reason=reason, timestamp=now)

    def reactivate(self, *, now: datetime) -> None:
        self._check_open()
        if self.status != AccountStatus.SUSPENDED:
            raise AccountNotSuspended()
        self.trigger_event(
            self.Reactivated,
            status=AccountStatus.ACTIVE if self.email_verified else AccountStatus.PENDING,
            timestamp=now,
        )

    def close(self, *, reason: str, by_owner: bool, now: datetime) -> None:
        self._check_open()
        self.trigger_event(self.Closed, reason=reason, by_owner=by_owner, timestamp=now)

    def erase(self, *, by_owner: bool, now: datetime, reason: str = "erased") -> None:
        """Erase the account's personal data (the application destroys its key once this is saved).

        An open account is closed first (erasure is for good); a closed one may still be erased.
        """
        if self.erased:
            raise AccountAlreadyErased()
        if self.status != AccountStatus.CLOSED:
            self.trigger_event(self.Closed, reason=reason, by_owner=by_owner, timestamp=now)
        self.trigger_event(self.Erased, by_owner=by_owner, timestamp=now)

    # --- rules shared by the commands ---------------------------------------------

    def _check_open(self) -> None:
        if self.status == AccountStatus.CLOSED:
            raise AccountClosed()

    def ensure_usable(self) -> None:
        """Open and not suspended: the account may act on its own behalf."""
        self._check_open()
        if self.status == AccountStatus.SUSPENDED:
            raise AccountSuspended()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRole(f"Unknown role {role!r}; known roles: {', '.join(sorted(ROLES))}")


moved("domain.account", Account)
