"""Password hashing (argon2) and emailed-token signing (HMAC): the Accounts application's ports."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from domain.accounts.errors import InvalidToken
from infrastructure.shared.sealing import b64, unb64

__all__ = ["Argon2PasswordHasher", "HmacTokenSigner", "b64", "unb64"]


class Argon2PasswordHasher:
    """argon2id via argon2-cffi; costs come from settings (tests lower them)."""

    def __init__(self, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
        self._argon2 = Argon2(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism)

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class HmacTokenSigner:
    """``<account>.<nonce>.<mac>``: only the nonce is in the event log; the mac needs the secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"chronicle-mail-tokens:" + secret.encode()).digest()

    def _mac(self, purpose: str, account_id: UUID, nonce: str) -> str:
        message = f"{purpose}|{account_id}|{nonce}".encode()
        return b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def sign(self, purpose: str, account_id: UUID, nonce: str) -> str:
        return f"{b64(account_id.bytes)}.{nonce}.{self._mac(purpose, account_id, nonce)}"

    def parse(self, purpose: str, token: str) -> tuple[UUID, str]:
        try:
            account_part, nonce, mac = token.split(".")
            account_id = UUID(bytes=unb64(account_part))
        except ValueError:
            raise InvalidToken() from None
        if not hmac.compare_digest(mac, self._mac(purpose, account_id, nonce)):
            raise InvalidToken()
        return account_id, nonce
