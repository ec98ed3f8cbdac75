"""Ports the Accounts application needs from the outside world; infrastructure implements them."""

from __future__ import annotations

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
