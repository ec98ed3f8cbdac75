"""JWT access and refresh tokens (HS256, pyjwt): what every authenticated request carries.

An access token names the account and its session, and the log position of the event that issued it
(``pos``: the login or refresh), so that an edge whose read model does not know the session yet can
wait for that position. It carries no authority of its own: roles and status are read from the
account's state at every request. An invalid token is refused with one of a fixed set of reasons
(``InvalidJwt.reason``), never with the library's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

import jwt


@dataclass(frozen=True)
class AccessClaims:
    account_id: UUID
    session_id: UUID
    position: int | None = None  # where the issuing event sits in the log; None in tokens issued before it


@dataclass(frozen=True)
class RefreshClaims:
    account_id: UUID
    session_id: UUID
    token_id: UUID


class Reason(StrEnum):
    """Why a token is refused: the only words about it a client hears."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    WRONG_TYPE = "wrong_type"


class InvalidJwt(Exception):
    """A bearer or refresh token that is malformed, forged, expired or of the wrong type."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


def _reason(error: jwt.PyJWTError) -> Reason:
    # InvalidSignatureError is a DecodeError, so it is asked first.
    if isinstance(error, jwt.ExpiredSignatureError):
        return Reason.EXPIRED
    if isinstance(error, jwt.InvalidSignatureError | jwt.InvalidAlgorithmError):
        return Reason.BAD_SIGNATURE
    return Reason.MALFORMED


class JwtTokens:
    """Short-lived access tokens and refresh tokens (HS256, pyjwt)."""

    algorithm = "HS256"

    def __init__(self, secret: str, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def access_token(self, claims: AccessClaims, now: datetime) -> str:
        payload: dict[str, object] = {
            "typ": "access",
            "sub": str(claims.account_id),
            "sid": str(claims.session_id),
            "iat": now,
            "exp": now + self.access_ttl,
            "jti": str(uuid4()),
        }
        if claims.position is not None:
            payload["pos"] = claims.position
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
            raise InvalidJwt(_reason(error)) from None
        except Exception:  # anything else a hostile token provokes in the library is a malformed token
            raise InvalidJwt(Reason.MALFORMED) from None
        if payload.get("typ") != typ:
            raise InvalidJwt(Reason.WRONG_TYPE)
        return payload

    def read_access(self, token: str) -> AccessClaims:
        payload = self._decode(token, "access")
        position = payload.get("pos")
        if position is not None and (type(position) is not int or position < 0):
            raise InvalidJwt(Reason.MALFORMED)
        try:
            return AccessClaims(
                account_id=UUID(str(payload["sub"])), session_id=UUID(str(payload["sid"])), position=position
            )
        except ValueError:
            raise InvalidJwt(Reason.MALFORMED) from None

    def read_refresh(self, token: str) -> RefreshClaims:
        payload = self._decode(token, "refresh")
        try:
            return RefreshClaims(
                account_id=UUID(str(payload["sub"])),
                session_id=UUID(str(payload["sid"])),
                token_id=UUID(str(payload.get("jti"))),
            )
        except ValueError:
            raise InvalidJwt(Reason.MALFORMED) from None
