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


class AccessStates(Protocol):
    """Who may act right now: read by every edge that authenticates a caller (the accounts read model answers)."""

    def access_state(self, account_id: UUID, session_id: UUID) -> tuple[str | None, list[str] | None, bool]:
        """(account status, roles, session revoked); status and roles are None for an account not known yet."""
        ...
