"""Ports the Accounts application needs from the outside world; infrastructure implements them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.accounts.values import LoginFailures


class PasswordHasher(Protocol):
    """A slow, salted password hash from a maintained library."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class TokenSigner(Protocol):
    """Turns (purpose, account, nonce) into an emailed token and back, so no token is stored."""

    def sign(self, purpose: str, account_id: UUID, nonce: str) -> str: ...

    def parse(self, purpose: str, token: str) -> tuple[UUID, str]:
        """The account and nonce of a token; raises ``InvalidToken`` when forged or malformed."""
        ...


class SecondFactorKeys(Protocol):
    """TOTP seeds, codes and recovery codes; seeds leave it only sealed, recovery codes only as keyed hashes."""

    def new_secret(self) -> str:
        """A fresh TOTP seed, base32."""
        ...

    def seal(self, account_id: UUID, secret: str) -> str:
        """The seed encrypted for this account (what the account's history holds)."""
        ...

    def unseal(self, account_id: UUID, sealed: str) -> str: ...

    def provisioning_uri(self, secret: str, email: str) -> str:
        """The ``otpauth://`` URI an authenticator app reads (as a QR code)."""
        ...

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step (within one step of ``now``) whose code is ``code``, or ``None``."""
        ...

    def new_recovery_codes(self, count: int) -> list[str]: ...

    def recovery_code_hash(self, code: str) -> str:
        """A keyed hash of a recovery code, the same for the same code however it is typed."""
        ...


LoginFailuresChange = Callable[[LoginFailures], LoginFailures]


class LoginFailureCounter(Protocol):
    """Failed logins of emails the log holds no usable account for, kept outside the log (Redis, memory)."""

    def update(self, email_key: str, change: LoginFailuresChange) -> LoginFailures:
        """Apply ``change`` to the email's state atomically; what ``change`` raises is raised, nothing is written."""
        ...


class AccountKeys(Protocol):
    """The accounts' side of crypto-shredding: the keyed hash email claims are made of, and key destruction."""

    def email_claim_key(self, email_key: str) -> str:
        """A keyed hash (HMAC) of a normalized address: unique per address, and not the address."""
        ...

    def destroy(self, subject_id: UUID) -> None:
        """Destroy the account's key: its personal fields read as erased from now on (idempotent)."""
        ...
