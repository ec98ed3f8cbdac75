"""JWT access and refresh tokens (HS256, pyjwt): what every authenticated request carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import jwt


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
