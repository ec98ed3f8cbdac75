"""The Accounts application: registration, credentials, sessions, roles and lifecycle."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.accounts.ports import AccountKeys, LoginFailureCounter, PasswordHasher, SecondFactorKeys
from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext, CommandResult
from application.shared.metadata import DataclassAsDict
from domain.accounts.account import Account
from domain.accounts.errors import AccountAlreadyErased, EmailTaken, InvalidCredentials, InvalidSecondFactor
from domain.accounts.session import RefreshTokenReused, Session
from domain.accounts.two_factor import RECOVERY_CODE_COUNT, TwoFactor
from domain.accounts.values import (
    AccountStatus,
    LoginFailures,
    LoginPolicy,
    PendingToken,
    Profile,
    check_password_strength,
    email_claim_id,
    email_mac_claim_id,
    normalize_email,
)
from domain.shared.access import Role
from domain.shared.errors import ConcurrencyConflict, DomainError, NotFound
from domain.shared.unique_key import EMAIL_MAC_SCOPE, UniqueKey


def register_account_transcodings(transcoder: JSONTranscoder) -> None:
    """Account snapshots hold these value objects as they are."""
    transcoder.register(DataclassAsDict(Profile, "account_profile"))
    transcoder.register(DataclassAsDict(PendingToken, "account_pending_token"))
    transcoder.register(DataclassAsDict(TwoFactor, "account_two_factor"))


# The purpose under which the login challenge (account, nonce) is signed for the second step.
LOGIN_CHALLENGE_PURPOSE = "login-challenge"


@dataclass(frozen=True)
class AccountsConfig:
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    auto_verify_email: bool = False
    verification_ttl: timedelta = timedelta(hours=24)
    reset_ttl: timedelta = timedelta(hours=1)
    session_ttl: timedelta = timedelta(days=14)
    challenge_ttl: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class AccountStanding:
    """What another context may know of an account: whether it can act, and as what."""

    active: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SessionGrant:
    """A login or refresh outcome: what the token issuer needs, and the command's result."""

    account_id: UUID
    session_id: UUID
    token_id: UUID
    roles: tuple[str, ...]
    result: CommandResult


@dataclass(frozen=True)
class LoginChallenge:
    """The password was right and two-factor login is on: the nonce the second step must present."""

    account_id: UUID
    nonce: str
    expires_at: datetime
    result: CommandResult


@dataclass(frozen=True)
class TwoFactorEnrolment:
    """The seed, in clear this once, for the account holder's authenticator app."""

    secret: str
    provisioning_uri: str
    result: CommandResult


@dataclass(frozen=True)
class TwoFactorConfirmation:
    """Two-factor login is on; the recovery codes, in clear this once."""

    recovery_codes: list[str]
    result: CommandResult


class AccountsApplication(ChronicleApplication):
    """Commands of the Accounts context: load, decide, save."""

    snapshotting_intervals: ClassVar = {Account: 50}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_account_transcodings(transcoder)

    def __init__(
        self,
        hasher: PasswordHasher,
        config: AccountsConfig,
        env: EnvType | None = None,
        *,
        second_factor: SecondFactorKeys,
        failures: LoginFailureCounter,
        keys: AccountKeys,
        shares_log_with: ChronicleApplication | None = None,
    ) -> None:
        super().__init__(env, shares_log_with=shares_log_with)
        self.keys = keys
        self.hasher = hasher
        self.config = config
        self.second_factor = second_factor
        self.failures = failures
        self._decoy: str | None = None

    # --- registration and verification -------------------------------------------

    def register_account(
        self,
        ctx: CommandContext,
        *,
        email: str,
        password: str,
        profile: Profile,
        roles: list[str] | None = None,
        verified: bool = False,
    ) -> CommandResult:
        check_password_strength(password)
        if self._email_owner(email) is not None:
            raise EmailTaken()
        account = Account.register(
            account_id=uuid4(),
            email=email,
            profile=profile,
            password_hash=self.hasher.hash(password),
            roles=roles,
            now=ctx.now,
        )
        if verified or self.config.auto_verify_email:
            account.verify_email(nonce=None, now=ctx.now)
        else:
            account.request_email_verification(
                nonce=_nonce(), expires_at=ctx.now + self.config.verification_ttl, now=ctx.now
            )
        claim = self._claim_email(email, account.id, ctx)
        try:
            return self.record(ctx, account, claim)
        except ConcurrencyConflict:
            # The account id is new, so only the email claim can have lost the race.
            raise EmailTaken() from None

    def verify_email(self, ctx: CommandContext, account_id: UUID, nonce: str) -> CommandResult:
        account = self.load(account_id, Account)
        account.verify_email(nonce=nonce, now=ctx.now)
        return self.record(ctx, account)

    def ensure_superadmin(self, ctx: CommandContext, *, email: str, password: str, profile: Profile) -> CommandResult:
        """Create the configured superadmin once; on later starts make sure it still holds ``admin``."""
        try:
            return self.register_account(
                ctx, email=email, password=password, profile=profile, roles=[Role.ADMIN], verified=True
            )
        except EmailTaken:
            account = self.load(self.account_id_for(email), Account)
            if Role.ADMIN not in account.roles and account.status != AccountStatus.CLOSED:
                account.assign_role(role=Role.ADMIN, now=ctx.now)
            return self.record(ctx, account)

    def account_id_for(self, email: str) -> UUID:
        owner = self._email_owner(email)
        if owner is None:
            raise NotFound("No account with this email")
        return owner

    # --- email claims: an HMAC of the address, older claims (the address in clear) still read -----

    def _email_claims(self, email: str) -> tuple[UUID, UUID]:
        """The address's claim ids: by its keyed hash (what is claimed now), and as older code claimed it."""
        return email_mac_claim_id(self.keys.email_claim_key(normalize_email(email))), email_claim_id(email)

    def _email_owner(self, email: str) -> UUID | None:
        """The account that holds the address: by its keyed-hash claim, else by an older one; None if free."""
        for claim_id in self._email_claims(email):
            try:
                owner = self.load(claim_id, UniqueKey).owner_id
            except NotFound:
                continue
            if owner is not None:
                return owner
        return None

    def _claim_email(self, email: str, owner_id: UUID, ctx: CommandContext) -> UniqueKey:
        """The address's keyed-hash claim for ``owner_id``: new, or a released one taken again (an erased address)."""
        mac = self.keys.email_claim_key(normalize_email(email))
        try:
            claim = self.load(email_mac_claim_id(mac), UniqueKey)
        except NotFound:
            return UniqueKey.claim(scope=EMAIL_MAC_SCOPE, key=mac, owner_id=owner_id, now=ctx.now)
        if claim.owner_id is not None:
            raise EmailTaken()
        claim.reclaim(owner_id=owner_id, now=ctx.now)
        return claim

    def _released_claims(self, account: Account, ctx: CommandContext) -> list[UniqueKey]:
        """The account's email claims (new and older), released: an erased address may register again."""
        released = []
        for claim_id in self._email_claims(account.email):
            try:
                claim = self.load(claim_id, UniqueKey)
            except NotFound:
                continue
            if claim.owner_id == account.id:
                claim.release(now=ctx.now)
                released.append(claim)
        return released

    # --- login, sessions ------------------------------------------------------------

    def log_in(self, ctx: CommandContext, *, email: str, password: str) -> SessionGrant | LoginChallenge:
        """Check the password; an account with two-factor login on gets a challenge instead of a session.

        Known, unknown and closed emails are answered alike: each pays one password verification,
        and the lockout rule counts the failures of an email without a usable account outside the log.
        """
        account = self._login_account(email)
        password_hash = account.password_hash if account is not None else self._decoy_hash()
        password_ok = self.hasher.verify(password_hash, password)
        if account is None:
            self._count_failure_outside_log(email, ctx)
            raise InvalidCredentials()
        account.check_not_locked(ctx.now)
        if not password_ok:
            self._record_failed_login(ctx, account)
            raise InvalidCredentials()
        if account.two_factor.enabled:
            nonce, expires_at = _nonce(), ctx.now + self.config.challenge_ttl
            account.challenge_second_factor(nonce=nonce, expires_at=expires_at, now=ctx.now)
            return LoginChallenge(account.id, nonce, expires_at, self.record(ctx, account))
        session_id = uuid4()
        account.record_login(session_id=session_id, now=ctx.now)
        return self._start_session(ctx, account, session_id)

    def log_in_with_code(
        self, ctx: CommandContext, account_id: UUID, *, nonce: str, code: str | None, recovery_code: str | None
    ) -> SessionGrant:
        """The second login step: a current TOTP code or an unused recovery code; a wrong one is a failed login."""
        account = self.load(account_id, Account)
        session_id = uuid4()
        try:
            if recovery_code is not None:
                code_hash = self.second_factor.recovery_code_hash(recovery_code)
                account.record_login_with_recovery_code(
                    nonce=nonce, code_hash=code_hash, session_id=session_id, now=ctx.now
                )
            else:
                step = self._matching_step(account, code or "", ctx)
                account.record_login_with_code(nonce=nonce, step=step, session_id=session_id, now=ctx.now)
        except InvalidSecondFactor:
            self._record_failed_login(ctx, account)
            raise
        return self._start_session(ctx, account, session_id)

    def _start_session(self, ctx: CommandContext, account: Account, session_id: UUID) -> SessionGrant:
        token_id = uuid4()
        session = Session.start(
            session_id=session_id,
            account_id=account.id,
            token_id=token_id,
            expires_at=ctx.now + self.config.session_ttl,
            now=ctx.now,
        )
        result = self.record(ctx, account, session)
        return SessionGrant(account.id, session_id, token_id, tuple(account.roles), result)

    def _login_account(self, email: str) -> Account | None:
        """The account that may log in with this email; ``None`` when there is none or it is closed."""
        try:
            account = self.load(self.account_id_for(email), Account)
        except NotFound:
            return None
        return None if account.status == AccountStatus.CLOSED else account

    def _record_failed_login(self, ctx: CommandContext, account: Account) -> None:
        """Count a failure in the account's history; a concurrent failure written first is reloaded, not a 409."""
        for attempt in range(_FAILURE_WRITE_ATTEMPTS):
            account.record_failed_login(now=ctx.now, policy=self.config.login_policy)
            try:
                self.record(ctx, account)
                return
            except ConcurrencyConflict:
                if attempt + 1 == _FAILURE_WRITE_ATTEMPTS:
                    raise
                account = self.load(account.id, Account)

    def _count_failure_outside_log(self, email: str, ctx: CommandContext) -> None:
        policy = self.config.login_policy

        def fail(state: LoginFailures) -> LoginFailures:
            state.check_not_locked(ctx.now)
            return state.after_failure(ctx.now, policy)

        self.failures.update(normalize_email(email), fail)

    # --- two-factor enrolment -------------------------------------------------------

    def enrol_two_factor(self, ctx: CommandContext, account_id: UUID) -> TwoFactorEnrolment:
        """A new TOTP seed for the account, off until confirmed; the seed is stored sealed only."""
        account = self.load(account_id, Account)
        secret = self.second_factor.new_secret()
        account.enrol_two_factor(sealed_secret=self.second_factor.seal(account.id, secret), now=ctx.now)
        result = self.record(ctx, account)
        return TwoFactorEnrolment(secret, self.second_factor.provisioning_uri(secret, account.email), result)

    def confirm_two_factor(self, ctx: CommandContext, account_id: UUID, *, code: str) -> TwoFactorConfirmation:
        """Turn two-factor login on with a current code; the recovery codes are stored as keyed hashes only."""
        account = self.load(account_id, Account)
        step = self._matching_step(account, code, ctx)
        codes = self.second_factor.new_recovery_codes(RECOVERY_CODE_COUNT)
        hashes = [self.second_factor.recovery_code_hash(c) for c in codes]
        account.confirm_two_factor(step=step, recovery_code_hashes=hashes, now=ctx.now)
        return TwoFactorConfirmation(codes, self.record(ctx, account))

    def disable_two_factor(self, ctx: CommandContext, account_id: UUID, *, password: str, code: str) -> CommandResult:
        """Turn two-factor login off: the password and a current code are both required."""
        account = self.load(account_id, Account)
        if not self.hasher.verify(account.password_hash, password):
            raise InvalidCredentials("The password is wrong")
        account.disable_two_factor(step=self._matching_step(account, code, ctx), now=ctx.now)
        return self.record(ctx, account)

    def _matching_step(self, account: Account, code: str, ctx: CommandContext) -> int | None:
        sealed = account.two_factor.sealed_secret
        if sealed is None:
            return None
        return self.second_factor.matching_step(self.second_factor.unseal(account.id, sealed), code, ctx.now)

    def refresh_session(self, ctx: CommandContext, *, session_id: UUID, token_id: UUID) -> SessionGrant:
        session = self.load(session_id, Session)
        if session.is_reuse(token_id):
            session.revoke(reason="refresh_token_reused", now=ctx.now)
            self.record(ctx, session)
            raise RefreshTokenReused()
        account = self.load(session.account_id, Account)
        account.ensure_usable()
        new_token_id = uuid4()
        session.rotate(
            presented=token_id, new_token_id=new_token_id, expires_at=ctx.now + self.config.session_ttl, now=ctx.now
        )
        result = self.record(ctx, session)
        return SessionGrant(account.id, session.id, new_token_id, tuple(account.roles), result)

    def log_out(self, ctx: CommandContext, *, session_id: UUID) -> CommandResult:
        session = self.load(session_id, Session)
        session.revoke(reason="logout", now=ctx.now)
        return self.record(ctx, session)

    # --- credentials ------------------------------------------------------------------

    def change_password(
        self, ctx: CommandContext, account_id: UUID, *, current: str, new: str, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        if not self.hasher.verify(account.password_hash, current):
            raise InvalidCredentials("The current password is wrong")
        check_password_strength(new)
        account.change_password(password_hash=self.hasher.hash(new), now=ctx.now)
        return self.record(ctx, account)

    def request_password_reset(self, ctx: CommandContext, *, email: str) -> CommandResult | None:
        """Start a reset; an unknown or closed account is answered the same way, so emails don't leak."""
        try:
            account = self.load(self.account_id_for(email), Account)
        except NotFound:
            return None
        try:
            account.request_password_reset(nonce=_nonce(), expires_at=ctx.now + self.config.reset_ttl, now=ctx.now)
        except DomainError:
            return None
        return self.record(ctx, account)

    def reset_password(self, ctx: CommandContext, account_id: UUID, *, nonce: str, new: str) -> CommandResult:
        check_password_strength(new)
        account = self.load(account_id, Account)
        account.reset_password(nonce=nonce, password_hash=self.hasher.hash(new), now=ctx.now)
        return self.record(ctx, account)

    # --- profile and lifecycle ----------------------------------------------------------

    def update_profile(
        self, ctx: CommandContext, account_id: UUID, profile: Profile, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        account.update_profile(profile=profile, now=ctx.now)
        return self.record(ctx, account)

    def close_own_account(
        self, ctx: CommandContext, account_id: UUID, *, password: str, erase: bool = False
    ) -> CommandResult:
        """Close the holder's own account; with ``erase`` its personal data is erased too (see ``erase_account``)."""
        account = self.load(account_id, Account)
        if not self.hasher.verify(account.password_hash, password):
            raise InvalidCredentials("The password is wrong")
        if erase:
            account.ensure_usable()
            return self._erase(ctx, account, by_owner=True, reason="closed by owner")
        account.close(reason="closed by owner", by_owner=True, now=ctx.now)
        return self.record(ctx, account)

    def erase_account(
        self, ctx: CommandContext, account_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        """Erase an account's personal data (crypto-shredding), closing it if it is open.

        The ``Erased`` event (who: its actor, when: its time) is saved with the release of the address's
        claims, then the account's key is destroyed: every name, phone, birthday and email sealed with it,
        in every event and snapshot, reads as erased from then on. Asking again for an erased account
        destroys the key again (in case the first attempt stopped between the two) and answers
        ``account_erased``.
        """
        account = self.load(account_id, Account, expected_version)
        return self._erase(ctx, account, by_owner=False, reason="erased")

    def _erase(self, ctx: CommandContext, account: Account, *, by_owner: bool, reason: str) -> CommandResult:
        if account.erased:
            self.keys.destroy(account.id)
            raise AccountAlreadyErased()
        claims = self._released_claims(account, ctx)
        account.erase(by_owner=by_owner, now=ctx.now, reason=reason)
        result = self.record(ctx, account, *claims)
        self.keys.destroy(account.id)
        return result

    def assign_role(
        self, ctx: CommandContext, account_id: UUID, role: str, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        account.assign_role(role=role, now=ctx.now)
        return self.record(ctx, account)

    def revoke_role(
        self, ctx: CommandContext, account_id: UUID, role: str, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        account.revoke_role(role=role, now=ctx.now)
        return self.record(ctx, account)

    def suspend_account(
        self, ctx: CommandContext, account_id: UUID, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        account.suspend(reason=reason, now=ctx.now)
        return self.record(ctx, account)

    def reactivate_account(
        self, ctx: CommandContext, account_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        account.reactivate(now=ctx.now)
        return self.record(ctx, account)

    def close_account(
        self, ctx: CommandContext, account_id: UUID, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        account = self.load(account_id, Account, expected_version)
        account.close(reason=reason, by_owner=False, now=ctx.now)
        return self.record(ctx, account)

    def standing(self, account_id: UUID) -> AccountStanding | None:
        """Whether the account is active, and its roles, read from its stream (for other contexts)."""
        try:
            account = self.load(account_id, Account)
        except NotFound:
            return None
        return AccountStanding(active=account.status == AccountStatus.ACTIVE, roles=tuple(account.roles))

    def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._decoy


_FAILURE_WRITE_ATTEMPTS = 3


def _nonce() -> str:
    return secrets.token_urlsafe(24)
