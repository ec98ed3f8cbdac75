"""The hash chain's definition, its verification over records and export lines, and signed checkpoints."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import ValidationError

from infrastructure.shared.chain import (
    BROKEN_LINK,
    GENESIS,
    HEAD_MISMATCH,
    MISSING_CHECKPOINT_EVENT,
    OUT_OF_ORDER,
    SIGNATURE_INVALID,
    TRUNCATED,
    ChainRecord,
    link,
    verify,
    verify_export,
)
from infrastructure.shared.checkpoints import Checkpoint, CheckpointSigner, KeyUnusable, public_key, signing_key
from infrastructure.shared.settings import Settings

STREAM = UUID("4f1c2a7e-0d3b-4c55-9a61-2b8e5f0c9d11")
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def chained(count: int) -> list[ChainRecord]:
    records, head = [], GENESIS
    for n in range(1, count + 1):
        state = f'{{"n":{n}}}'.encode()
        head = link(head, n * 2, STREAM, n, "domain.x:X.Happened", state)
        records.append(ChainRecord(n * 2, STREAM, n, "domain.x:X.Happened", state, head))
    return records


def lines(records: list[ChainRecord]) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "position": r.position,
                "stream_id": str(r.stream_id),
                "version": r.version,
                "type": "X.Happened",
                "topic": r.topic,
                "stored_state": base64.b64encode(r.state).decode(),
                "chain": r.chain.hex() if r.chain else None,
            }
        )
        for r in records
    ]


def test_a_link_is_the_sha256_of_the_previous_link_and_the_stored_bytes_in_a_fixed_layout() -> None:
    expected = hashlib.sha256(
        GENESIS
        + (7).to_bytes(8, "big")
        + STREAM.bytes
        + (3).to_bytes(8, "big")
        + (3).to_bytes(4, "big")
        + b"a:B"
        + b"{}"
    ).digest()
    assert link(GENESIS, 7, STREAM, 3, "a:B", b"{}") == expected
    # The topic's length is part of the bytes: moving a byte between type and state changes the link.
    assert link(GENESIS, 7, STREAM, 3, "a:B{", b"}") != expected


def test_verify_accepts_an_unbroken_chain_and_names_its_head() -> None:
    records = chained(5)
    verdict = verify(records)
    assert verdict.ok and verdict.checked == 5 and verdict.head == records[-1].chain and verdict.head_position == 10


def test_verify_locates_the_first_break_and_says_what_it_is() -> None:
    records = chained(5)
    altered = [*records[:2], ChainRecord(6, STREAM, 3, records[2].topic, b"{}", records[2].chain), *records[3:]]
    verdict = verify(altered)
    assert not verdict.ok and verdict.bad_position == 6 and verdict.checked == 2 and verdict.problem == BROKEN_LINK
    assert verify([*records[:2], records[0]]).problem == OUT_OF_ORDER
    assert verify(records[1:]).bad_position == 4  # the first event is missing: the next one is found


def test_an_export_verifies_against_its_checkpoint_and_key() -> None:
    records = chained(6)
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    checkpoint = signer.sign(records[3].position, records[3].chain or b"", NOW)
    key = signer.public_key

    assert verify_export(lines(records), checkpoint, key).ok
    assert verify_export(lines(records[:3]), checkpoint, key).problem == TRUNCATED
    assert verify_export(lines(records[:3] + records[4:]), checkpoint, key).problem == MISSING_CHECKPOINT_EVENT
    other = CheckpointSigner(Ed25519PrivateKey.generate())
    assert verify_export(lines(records), checkpoint, other.public_key).problem == SIGNATURE_INVALID
    forged = signer.sign(records[3].position, bytes(32), NOW)
    assert verify_export(lines(records), forged, key).problem == HEAD_MISMATCH
    earlier = signer.sign(records[1].position, records[1].chain or b"", NOW)
    assert verify_export(lines(records[2:]), checkpoint, key, since=earlier).ok
    assert not verify_export([b"{not json"], checkpoint, key).ok


def test_a_checkpoint_survives_json_and_a_changed_field_breaks_its_signature() -> None:
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    checkpoint = signer.sign(42, bytes(range(32)), NOW)
    again = Checkpoint.from_dict(orjson.loads(orjson.dumps(checkpoint.as_dict())))
    assert again == checkpoint and again.signed_by(signer.public_key)
    moved = Checkpoint.from_dict({**checkpoint.as_dict(), "position": 43})
    assert not moved.signed_by(signer.public_key)
    for broken in ({}, {**checkpoint.as_dict(), "chain": "zz"}, {**checkpoint.as_dict(), "time": "2026-12-01"}):
        with pytest.raises(KeyUnusable):
            Checkpoint.from_dict(broken)


def test_a_signing_key_is_read_from_pem_or_base64_and_anything_else_is_refused(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    raw = base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()
    assert signing_key(pem).public_key() == signing_key(raw).public_key() == key.public_key()
    signer = CheckpointSigner(key)
    assert public_key(signer.public_key_pem()) == key.public_key()
    for bad in ("not a key", base64.b64encode(b"short").decode(), "-----BEGIN PRIVATE KEY-----\nxx\n"):
        with pytest.raises(KeyUnusable):
            signing_key(bad)
        with pytest.raises(ValidationError, match="chain_signing_key"):
            Settings(data_dir=tmp_path, chain_signing_key=bad)


def test_the_embedded_store_makes_its_signing_key_once_private_to_its_owner(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).checkpoint_signer()
    again = Settings(data_dir=tmp_path).checkpoint_signer()
    assert first is not None and again is not None
    assert first.public_key_pem() == again.public_key_pem()
    assert (tmp_path / "chain_signing_key").stat().st_mode & 0o777 == 0o600
    server = Settings(
        data_dir=tmp_path, database_url="postgresql://u@h/db", jwt_secret="x" * 40, pii_master_key="p" * 40
    )
    assert server.checkpoint_signer() is None
