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

import base64
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

import orjson
from eventsourcing.persistence import Notification

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from infrastructure.shared.checkpoints import Checkpoint

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


@dataclass(frozen=True)
class ChainedNotification(Notification):
    """A notification as Chronicle's recorders read it: with the event's stored link (None where it has none)."""

    chain: bytes | None = None


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
            "first_bad_position": self.bad_position,
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


class BadExportLine(ValueError):
    """An export line the chain cannot be checked with (the message names the line)."""


def export_records(lines: Iterable[bytes | str]) -> Iterator[ChainRecord]:
    """The chain's view of NDJSON export lines (keys ``position, stream_id, version, topic, stored_state, chain``)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
            chain = item.get("chain")
            yield ChainRecord(
                position=_whole(item["position"]),
                stream_id=UUID(str(item["stream_id"])),
                version=_whole(item["version"]),
                topic=str(item["topic"]),
                state=base64.b64decode(str(item["stored_state"]), validate=True),
                chain=bytes.fromhex(chain) if isinstance(chain, str) else None,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
            raise BadExportLine(f"line {number} is not an export line with a chain ({type(error).__name__})") from None


def _whole(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not a whole number")
    return value


SIGNATURE_INVALID = "the checkpoint's signature does not verify with this public key"
SINCE_INVALID = "the earlier checkpoint's signature does not verify with this public key"
HEAD_MISMATCH = "the chain at the checkpoint's position is not the checkpoint's head: the log before it was rewritten"
MISSING_CHECKPOINT_EVENT = "the export has no event at the checkpoint's position (removed, or moved)"
TRUNCATED = "the export ends before the checkpoint's position (events after it were removed, or the export is short)"


def verify_export(
    lines: Iterable[bytes | str],
    checkpoint: Checkpoint,
    key: Ed25519PublicKey,
    *,
    since: Checkpoint | None = None,
) -> Verdict:
    """Check an export against a signed checkpoint (and, for an export of a later range, an earlier one).

    The export starts at the log's first event (or right after ``since``); every link must follow
    from the one before it, and the event at the checkpoint's position must carry its head.
    Events after the checkpoint are checked against each other too (``ok`` covers them), but only
    a later checkpoint vouches for them.
    """
    if not checkpoint.signed_by(key):
        return Verdict(False, 0, None, None, None, SIGNATURE_INVALID)
    previous, start = GENESIS, 0
    if since is not None:
        if not since.signed_by(key):
            return Verdict(False, 0, None, None, None, SINCE_INVALID)
        previous, start = since.chain, since.position
    reached = checkpoint.position <= start and (since is None or checkpoint.position == start)
    if since is not None and checkpoint.position == start and checkpoint.chain != since.chain:
        return Verdict(False, 0, start, previous, start, HEAD_MISMATCH)

    checked, last = 0, None

    def watched() -> Iterator[ChainRecord]:
        nonlocal reached, checked, last
        for record in export_records(lines):
            if record.position <= start:
                continue
            if not reached and record.position > checkpoint.position:
                raise _Stop(Verdict(False, checked, last, None, record.position, MISSING_CHECKPOINT_EVENT))
            yield record
            checked, last = checked + 1, record.position
            if record.position == checkpoint.position:
                reached = True
                if record.chain != checkpoint.chain:
                    raise _Stop(Verdict(False, checked, last, record.chain, record.position, HEAD_MISMATCH))

    try:
        verdict = verify(watched(), previous)
    except _Stop as stop:
        return stop.verdict
    except BadExportLine as error:
        return Verdict(False, checked, last, None, None, str(error))
    if verdict.ok and not reached:
        return Verdict(False, verdict.checked, verdict.head_position, verdict.head, checkpoint.position, TRUNCATED)
    return verdict


class _Stop(Exception):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.problem)
        self.verdict = verdict
