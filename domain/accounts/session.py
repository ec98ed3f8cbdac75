"""Session: one refresh-token family, started by a login.

Invariants:
- exactly one refresh token of the family is current; an older one never rotates
  (``rotate`` refuses it; the application, seeing ``is_reuse``, revokes the family);
- a revoked session stays revoked and can no longer rotate;
- an expired session cannot rotate.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.shared.errors import Category, DomainError
from domain.shared.topics import moved


class SessionRevoked(DomainError):
    code = "session_revoked"
    title = "The session has been revoked; log in again"
    category = Category.UNAUTHENTICATED


class SessionExpired(DomainError):
    code = "session_expired"
    title = "The session has expired; log in again"
    category = Category.UNAUTHENTICATED


class RefreshTokenReused(DomainError):
    code = "refresh_token_reused"
    title = "A refresh token was used twice; the whole session is revoked"
    category = Category.UNAUTHENTICATED


class Session(Aggregate):
    """A login's refresh-token family."""

    class Started(Aggregate.Created):
        account_id: UUID
        token_id: UUID
        expires_at: datetime

    class Rotated(Aggregate.Event):
        token_id: UUID
        expires_at: datetime

        def apply(self, session: Session) -> None:
            session.token_id = self.token_id
            session.expires_at = self.expires_at

    class Revoked(Aggregate.Event):
        reason: str

        def apply(self, session: Session) -> None:
            session.revoked = True
            session.revoked_reason = self.reason

    def __init__(self, account_id: UUID, token_id: UUID, expires_at: datetime) -> None:
        self.account_id = account_id
        self.token_id = token_id
        self.expires_at = expires_at
        self.revoked = False
        self.revoked_reason: str | None = None

    @classmethod
    def start(
        cls, *, session_id: UUID, account_id: UUID, token_id: UUID, expires_at: datetime, now: datetime
    ) -> Session:
        return cls._create(
            cls.Started, id=session_id, timestamp=now, account_id=account_id, token_id=token_id, expires_at=expires_at
        )

    def is_reuse(self, token_id: UUID) -> bool:
        """A token of this family that is no longer the current one."""
        return not self.revoked and token_id != self.token_id

    def rotate(self, *, presented: UUID, new_token_id: UUID, expires_at: datetime, now: datetime) -> None:
        if self.revoked:
            raise SessionRevoked()
        if presented != self.token_id:
            raise RefreshTokenReused()
        if now >= self.expires_at:
            raise SessionExpired()
        self.trigger_event(self.Rotated, token_id=new_token_id, expires_at=expires_at, timestamp=now)

    def revoke(self, *, reason: str, now: datetime) -> None:
        if self.revoked:
            return
        self.trigger_event(self.Revoked, reason=reason, timestamp=now)


moved("domain.session", Session)
