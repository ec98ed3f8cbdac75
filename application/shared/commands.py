"""What a command is given and what it answers, in every context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.shared.idempotency import IdempotencyKey

SYSTEM_ACTOR = "system"


class Clock(Protocol):
    """Where "now" comes from: passed in, so the domain stays deterministic and tests move time by hand."""

    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class CommandContext:
    """Who asks, why, and when: passed in by the caller of every command."""

    actor: str
    correlation_id: str
    causation_id: str
    now: datetime
    # The caller's Idempotency-Key, claimed in the same save as the command's events (``record``).
    idempotency: IdempotencyClaim | None = None

    def metadata(self) -> dict[str, str]:
        return {"actor": self.actor, "correlation_id": self.correlation_id, "causation_id": self.causation_id}

    @classmethod
    def system(cls, reason: str, now: datetime) -> CommandContext:
        """A command the system issues itself (bootstrap, a policy)."""
        return cls(actor=SYSTEM_ACTOR, correlation_id=reason, causation_id=reason, now=now)


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the stream, its new version and the log position of its last event."""

    id: UUID
    version: int
    position: int


@dataclass
class IdempotencyClaim:
    """A request's Idempotency-Key: who sent it (scope), the request's fingerprint, the status it answers.

    ``key`` is set by the first save of the command (``ChronicleApplication.record``), which
    writes the key stream together with the command's events; a later save of the same command
    does not claim it again.
    """

    scope: str
    key: str
    fingerprint: str
    status: int
    claimed: IdempotencyKey | None = field(default=None, compare=False)
