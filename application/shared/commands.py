"""What a command is given and what it answers, in every context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

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
