"""Ports the applications need from the outside world; infrastructure implements them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


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


@dataclass(frozen=True)
class MailMessage:
    """One email; ``message_id`` is stable for the event that caused it, so resending overwrites."""

    message_id: str
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    """Delivers a message; delivering the same ``message_id`` twice delivers it once."""

    def send(self, message: MailMessage) -> None: ...


@dataclass(frozen=True)
class AccountStanding:
    """What another context may know of an account: whether it can act, and as what."""

    status: str
    roles: tuple[str, ...]


class AccountDirectory(Protocol):
    """Looks an account up by id for another context (work orders checking a welder)."""

    def standing(self, account_id: UUID) -> AccountStanding | None:
        """The account's standing, or None when there is no such account."""
        ...
