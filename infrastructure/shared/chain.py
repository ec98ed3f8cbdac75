"""The hash chain over the stored log: one link per event, and what checks it.

Every stored event carries ``chain``, the SHA-256 of the previous event's link and the event's
stored bytes::

    link = sha256(previous link ‖ position ‖ stream id ‖ version ‖ len(type) ‖ type ‖ stored state)

with the position and the version as 8-byte big-endian signed integers, the stream id as its 16
bytes, the type (the event's topic) as UTF-8 after its length as a 4-byte big-endian integer (so
that no two different events give the same bytes), and the stored state as the store holds it
(compressed, encrypted: the bytes, not what they decode to). The first event's previous link is
``GENESIS`` (32 zero bytes). On PostgreSQL the link is computed by the append function inside
the insert transaction (``event_store.py``); on the embedded store by ``ChainedSQLiteRecorder``
in the same transaction; both compute exactly ``link()`` below.

``verify`` walks records in position order and says where the chain first breaks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

GENESIS = bytes(32)


def link(previous: bytes, position: int, stream_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The link of one stored event after ``previous``."""
    kind = topic.encode("utf-8")
    return hashlib.sha256(
        b"".join(
            (
                previous,
                position.to_bytes(8, "big", signed=True),
                stream_id.bytes,
                version.to_bytes(8, "big", signed=True),
                len(kind).to_bytes(4, "big"),
                kind,
                state,
            )
        )
    ).digest()


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """One stored event as the chain sees it (a row of the log or a line of an export)."""

    position: int
    stream_id: UUID
    version: int
    topic: str
    state: bytes
    chain: bytes | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a verification found: ``ok``, how many events it checked, and the first break."""

    ok: bool
    checked: int
    head_position: int | None
    head: bytes | None
    bad_position: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_position": self.head_position,
            "head": self.head.hex() if self.head is not None else None,
            "bad_position": self.bad_position,
            "problem": self.problem,
        }


MISSING_LINK = "the event has no chain link (it was inserted or altered outside the recorder)"
BROKEN_LINK = (
    "the event's link does not follow from the one before it: this event was altered, "
    "or an event before it was removed, inserted or moved"
)
OUT_OF_ORDER = "positions are not increasing here (an event was moved or duplicated)"


def verify(records: Iterable[ChainRecord], previous: bytes = GENESIS) -> Verdict:
    """Check ``records`` (in position order) against each other, starting from the link ``previous``.

    Stops at the first record whose link is missing or does not match; ``bad_position`` says where.
    """
    checked = 0
    last_position: int | None = None
    head = previous
    for record in records:
        if last_position is not None and record.position <= last_position:
            return Verdict(False, checked, last_position, head, record.position, OUT_OF_ORDER)
        if record.chain is None:
            return Verdict(False, checked, last_position, head, record.position, MISSING_LINK)
        expected = link(head, record.position, record.stream_id, record.version, record.topic, record.state)
        if expected != record.chain:
            return Verdict(False, checked, last_position, head, record.position, BROKEN_LINK)
        head = expected
        last_position = record.position
        checked += 1
    return Verdict(True, checked, last_position, head if last_position is not None else None)
