"""Ports every context may use; infrastructure implements them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


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
class AccessState:
    """What an edge needs to authorize a caller's token right now."""

    roles: tuple[str, ...] | None  # None: the account is not known (yet) to the read model
    session_revoked: bool
    barred: str | None = None  # why the account may not act at all (its status), if it may not


class AccessStates(Protocol):
    """Who may act right now: read by every edge that authenticates a caller (the accounts read model answers)."""

    def access_state(self, account_id: UUID, session_id: UUID) -> AccessState: ...
