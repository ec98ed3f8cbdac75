"""Wiring of the Accounts context: its application, read model, mail policy and adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from application.accounts.application import AccountsApplication, AccountsConfig
from application.accounts.mail_policy import MailPolicy
from application.accounts.ports import LoginFailureCounter, PasswordHasher, TokenSigner
from application.shared.commands import CommandContext
from application.shared.ports import AccessStates, Mailer
from domain.accounts.values import LoginPolicy, Profile
from infrastructure.accounts.login_failures import MemoryLoginFailures, RedisLoginFailures
from infrastructure.accounts.queries import AccountsQueries
from infrastructure.accounts.security import Argon2PasswordHasher, HmacTokenSigner
from infrastructure.accounts.tables import ACCOUNT_TABLES, backfill_status_counts
from infrastructure.accounts.two_factor import FAILURE_KEY_INFO, TotpKeys, derive_key
from infrastructure.accounts.writer import SqlAccountsView
from infrastructure.shared.breaker import Breaker
from infrastructure.shared.mail import EmlFolderMailer
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from projections.accounts.projection import AccountsProjection


@dataclass
class Accounts:
    """The Accounts context, wired."""

    app: AccountsApplication
    queries: AccountsQueries
    signer: TokenSigner
    mailer: Mailer
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {
            AccountsApplication: self.app,
            AccountsQueries: self.queries,
            AccessStates: self.queries,
            TokenSigner: self.signer,
        }

    def start(self, platform: Platform) -> None:
        """Count statuses for a read model older than the counts, and make sure the superadmin exists."""
        with platform.write_engine.begin() as conn:
            backfill_status_counts(conn)
        settings = platform.settings
        if settings.superadmin_email and settings.superadmin_password is not None:
            self.app.ensure_superadmin(
                CommandContext.system("bootstrap", platform.clock()),
                email=settings.superadmin_email,
                password=settings.superadmin_password.get_secret_value(),
                profile=Profile(first_name="Super", last_name="Admin"),
            )


def wire_accounts(
    platform: Platform,
    *,
    hasher: PasswordHasher | None = None,
    mailer: Mailer | None = None,
    redis: Callable[[], Any] | None = None,
    breaker: Breaker | None = None,
) -> Accounts:
    settings = platform.settings
    secret = settings.signing_secret()
    master_key = settings.two_factor_key.get_secret_value() if settings.two_factor_key else secret
    failures: LoginFailureCounter = (
        RedisLoginFailures(redis, derive_key(master_key, FAILURE_KEY_INFO), breaker)
        if redis is not None and breaker is not None and settings.redis_url
        else MemoryLoginFailures()
    )
    hasher = hasher or Argon2PasswordHasher(
        settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
    )
    mailer = mailer or EmlFolderMailer(settings.mail_folder)
    signer = HmacTokenSigner(secret)
    config = AccountsConfig(
        login_policy=LoginPolicy(
            max_failures=settings.login_max_failures, lockout=timedelta(minutes=settings.login_lockout_minutes)
        ),
        auto_verify_email=settings.auto_verify_email,
        verification_ttl=timedelta(hours=settings.verification_ttl_hours),
        reset_ttl=timedelta(minutes=settings.reset_ttl_minutes),
        session_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        challenge_ttl=timedelta(seconds=settings.login_challenge_ttl_seconds),
    )
    app = AccountsApplication(
        hasher,
        config,
        platform.env,
        second_factor=TotpKeys(master_key, settings.two_factor_issuer),
        failures=failures,
        keys=platform.personal,
        shares_log_with=platform.log,
    )
    platform.joins_log(app)
    followers = (
        Follower(AccountsProjection(), SqlAccountsView, ACCOUNT_TABLES),
        Follower(MailPolicy(app, mailer, signer, settings.public_base_url)),
    )
    return Accounts(app, AccountsQueries(platform.query_engine), signer, mailer, followers)
