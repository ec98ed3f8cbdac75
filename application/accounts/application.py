"""The Accounts application: registration, credentials, sessions, roles and lifecycle."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from application.accounts.ports import PasswordHasher
from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext, CommandResult
from application.shared.metadata import DataclassAsDict
from domain.accounts.account import Account
from domain.accounts.errors import EmailTaken, InvalidCredentials
from domain.accounts.session import RefreshTokenReused, Session
from domain.accounts.values import (
    AccountStatus,
    LoginPolicy,
    PendingToken,
    Profile,
    check_password_strength,
    email_claim_id,
    normalize_email,
)
from domain.shared.access import Role
from domain.shared.errors import ConcurrencyConflict, DomainError, NotFound
from domain.shared.unique_key import EMAIL_SCOPE, UniqueKey


def register_account_transcodings(transcoder: JSONTranscoder) -> None:
    """Account snapshots hold these value objects as they are."""
    transcoder.register(DataclassAsDict(Profile, "account_profile"))
    transcoder.register(DataclassAsDict(PendingToken, "account_pending_token"))


@dataclass(frozen=True)
class AccountsConfig:
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    auto_verify_email: bool = False
    verification_ttl: timedelta = timedelta(hours=24)
    reset_ttl: timedelta = timedelta(hours=1)
    session_ttl: timedelta = timedelta(days=14)


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
        shares_log_with: ChronicleApplication | None = None,
    ) -> None:
        super().__init__(env, shares_log_with=shares_log_with)
        self.hasher = hasher
        self.config = config
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
        if email_claim_id(email) in self.repository:
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
        claim = UniqueKey.claim(scope=EMAIL_SCOPE, key=normalize_email(email), owner_id=account.id, now=ctx.now)
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
        claim_id = email_claim_id(email)
        if claim_id not in self.repository:
            raise NotFound("No account with this email")
        return self.load(claim_id, UniqueKey).owner_id

    # --- login, sessions ------------------------------------------------------------

    def log_in(self, ctx: CommandContext, *, email: str, password: str) -> SessionGrant:
        try:
            account = self.load(self.account_id_for(email), Account)
        except NotFound:
            # Spend the same hashing time as for a real account, so timing does not reveal emails.
            self.hasher.verify(self._decoy_hash(), password)
            raise InvalidCredentials() from None
        if account.status == AccountStatus.CLOSED:
            raise InvalidCredentials()
        account.check_not_locked(ctx.now)
        if not self.hasher.verify(account.password_hash, password):
            account.record_failed_login(now=ctx.now, policy=self.config.login_policy)
            self.record(ctx, account)
            raise InvalidCredentials()
        session_id, token_id = uuid4(), uuid4()
        account.record_login(session_id=session_id, now=ctx.now)
        session = Session.start(
            session_id=session_id,
            account_id=account.id,
            token_id=token_id,
            expires_at=ctx.now + self.config.session_ttl,
            now=ctx.now,
        )
        result = self.record(ctx, account, session)
        return SessionGrant(account.id, session_id, token_id, tuple(account.roles), result)

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

    def close_own_account(self, ctx: CommandContext, account_id: UUID, *, password: str) -> CommandResult:
        account = self.load(account_id, Account)
        if not self.hasher.verify(account.password_hash, password):
            raise InvalidCredentials("The password is wrong")
        account.close(reason="closed by owner", by_owner=True, now=ctx.now)
        return self.record(ctx, account)

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


def _nonce() -> str:
    return secrets.token_urlsafe(24)
