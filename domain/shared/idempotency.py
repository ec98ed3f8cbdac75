"""IdempotencyKey: a client's ``Idempotency-Key`` for one command, and the answer the command gave.

Invariants:
- its id is derived from the caller's scope and the key, so two first requests racing with one
  key both write the first event of the same stream and only one of them can commit;
- it is claimed in the same atomic save as the command's events: a key without its command's
  events (or events without their key) cannot be stored;
- the fingerprint of the request is fixed at the claim: the same key with another request is
  refused, never replayed;
- it is answered at most once, with the answer the first request got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.shared.errors import Category, DomainError


def idempotency_key_id(scope: str, key: str) -> UUID:
    """The stream id of ``key`` as sent by the caller ``scope`` (an account, or an address and route)."""
    return uuid5(NAMESPACE_URL, f"chronicle:idempotency:{scope}\n{key}")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for another request"
    category = Category.INVALID


class IdempotencyKeyInFlight(DomainError):
    code = "idempotency_key_in_flight"
    title = "A request with this Idempotency-Key is still being processed; retry shortly"


@dataclass(frozen=True)
class RecordedAnswer:
    """What the first request was answered: its status, JSON body and ETag (if any)."""

    status: int
    body: str
    etag: str | None


class IdempotencyKey(Aggregate):
    """One caller's key for one command: the request's fingerprint, the command's stream, its answer."""

    class Claimed(Aggregate.Created):
        scope: str
        key: str
        fingerprint: str
        status: int
        result_id: UUID
        result_version: int

    class Answered(Aggregate.Event):
        status: int
        body: str
        etag: str | None

        def apply(self, key: IdempotencyKey) -> None:
            key.answer = RecordedAnswer(self.status, self.body, self.etag)

    def __init__(
        self, scope: str, key: str, fingerprint: str, status: int, result_id: UUID, result_version: int
    ) -> None:
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.status = status
        self.result_id = result_id
        self.result_version = result_version
        self.answer: RecordedAnswer | None = None

    @classmethod
    def claim(
        cls,
        *,
        scope: str,
        key: str,
        fingerprint: str,
        status: int,
        result_id: UUID,
        result_version: int,
        now: datetime,
    ) -> IdempotencyKey:
        return cls._create(
            cls.Claimed,
            id=idempotency_key_id(scope, key),
            timestamp=now,
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            status=status,
            result_id=result_id,
            result_version=result_version,
        )

    def record_answer(self, answer: RecordedAnswer, now: datetime) -> None:
        """Keep the first request's answer, so that a retry gets exactly it."""
        if self.answer is None:
            self.trigger_event(self.Answered, timestamp=now, status=answer.status, body=answer.body, etag=answer.etag)

    def replay_for(self, fingerprint: str, now: datetime, in_flight_for: timedelta) -> RecordedAnswer | None:
        """The answer a retry with ``fingerprint`` gets; ``None`` when the command committed but its
        answer was never kept (the process stopped in between): the caller rebuilds it."""
        if fingerprint != self.fingerprint:
            raise IdempotencyKeyReused(
                "The Idempotency-Key was first sent with another method, path or body; use a new key"
            )
        if self.answer is None and now - self.created_on < in_flight_for:
            raise IdempotencyKeyInFlight()
        return self.answer
