"""Password hashing (argon2), emailed-token signing (HMAC) and JWT access/refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import jwt
from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from domain.account import InvalidToken


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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class HmacTokenSigner:
    """``<account>.<nonce>.<mac>``: only the nonce is in the event log; the mac needs the secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"chronicle-mail-tokens:" + secret.encode()).digest()

    def _mac(self, purpose: str, account_id: UUID, nonce: str) -> str:
        message = f"{purpose}|{account_id}|{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def sign(self, purpose: str, account_id: UUID, nonce: str) -> str:
        return f"{_b64(account_id.bytes)}.{nonce}.{self._mac(purpose, account_id, nonce)}"

    def parse(self, purpose: str, token: str) -> tuple[UUID, str]:
        try:
            account_part, nonce, mac = token.split(".")
            account_id = UUID(bytes=_unb64(account_part))
        except ValueError:
            raise InvalidToken() from None
        if not hmac.compare_digest(mac, self._mac(purpose, account_id, nonce)):
            raise InvalidToken()
        return account_id, nonce


@dataclass(frozen=True)
class AccessClaims:
    account_id: UUID
    session_id: UUID
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RefreshClaims:
    account_id: UUID
    session_id: UUID
    token_id: UUID


class InvalidJwt(Exception):
    """A bearer or refresh token that is malformed, forged, expired or of the wrong type."""


class JwtTokens:
    """Short-lived access tokens and refresh tokens (HS256, pyjwt)."""

    algorithm = "HS256"

    def __init__(self, secret: str, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def access_token(self, claims: AccessClaims, now: datetime) -> str:
        payload = {
            "typ": "access",
            "sub": str(claims.account_id),
            "sid": str(claims.session_id),
            "roles": list(claims.roles),
            "iat": now,
            "exp": now + self.access_ttl,
            "jti": str(uuid4()),
        }
        return jwt.encode(payload, self._secret, algorithm=self.algorithm)

    def refresh_token(self, claims: RefreshClaims, now: datetime) -> str:
        payload = {
            "typ": "refresh",
            "sub": str(claims.account_id),
            "sid": str(claims.session_id),
            "jti": str(claims.token_id),
            "iat": now,
            "exp": now + self.refresh_ttl,
        }
        return jwt.encode(payload, self._secret, algorithm=self.algorithm)

    def _decode(self, token: str, typ: str) -> dict[str, object]:
        try:
            payload: dict[str, object] = jwt.decode(
                token, self._secret, algorithms=[self.algorithm], options={"require": ["exp", "sub", "sid", "typ"]}
            )
        except jwt.PyJWTError as error:
            raise InvalidJwt(str(error)) from None
        if payload.get("typ") != typ:
            raise InvalidJwt(f"Not a {typ} token")
        return payload

    def read_access(self, token: str) -> AccessClaims:
        payload = self._decode(token, "access")
        roles = payload.get("roles")
        try:
            return AccessClaims(
                account_id=UUID(str(payload["sub"])),
                session_id=UUID(str(payload["sid"])),
                roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            )
        except ValueError:
            raise InvalidJwt("Malformed claims") from None

    def read_refresh(self, token: str) -> RefreshClaims:
        payload = self._decode(token, "refresh")
        try:
            return RefreshClaims(
                account_id=UUID(str(payload["sub"])),
                session_id=UUID(str(payload["sid"])),
                token_id=UUID(str(payload.get("jti"))),
            )
        except ValueError:
            raise InvalidJwt("Malformed claims") from None
