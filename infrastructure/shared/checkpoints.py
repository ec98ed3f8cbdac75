"""Signed checkpoints of the hash chain: (position, chain head, UTC time), signed with Ed25519.

An auditor keeps checkpoints. Later, an export of the log (or the database itself) must still
reach the checkpoint's head at its position: an event altered, removed or inserted before it
changes every link after it. The signed bytes are::

    chronicle-checkpoint:v1\\n<position>\\n<chain head, hex>\\n<time, ISO 8601 UTC>\\n

The signing key comes from ``CHAIN_SIGNING_KEY`` (a PEM private key, or the base64 of a raw
32-byte Ed25519 key); the embedded store makes one in its data folder on first run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "chronicle-checkpoint:v1"


class KeyUnusable(ValueError):
    """A key (or a checkpoint) given as text that is not what it must be; the message says why."""


def signing_key(text: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``text``: PEM (PKCS#8), or base64 of the raw 32 bytes."""
    text = text.strip()
    if "-----BEGIN" in text:
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise KeyUnusable("is not a readable unencrypted PEM private key") from error
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyUnusable("is a PEM private key, but not an Ed25519 one")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise KeyUnusable("is neither PEM nor base64") from error
    if len(raw) != 32:
        raise KeyUnusable("must be the base64 of 32 bytes (a raw Ed25519 private key)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def new_signing_key_text() -> str:
    """A fresh key as the base64 of its raw 32 bytes (what the embedded store keeps)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key(text: str) -> Ed25519PublicKey:
    """The Ed25519 public key in ``text`` (PEM, as ``public_key_pem`` writes it)."""
    try:
        key = serialization.load_pem_public_key(text.strip().encode())
    except (ValueError, TypeError) as error:
        raise KeyUnusable("is not a readable PEM public key") from error
    if not isinstance(key, Ed25519PublicKey):
        raise KeyUnusable("is a PEM public key, but not an Ed25519 one")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at a position, at a time, and the signature over the three."""

    position: int
    chain: bytes
    time: datetime
    key_id: str
    signature: bytes

    @staticmethod
    def payload(position: int, chain: bytes, time: datetime) -> bytes:
        return f"{FORMAT}\n{position}\n{chain.hex()}\n{time.astimezone(UTC).isoformat()}\n".encode()

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "position": self.position,
            "chain": self.chain.hex(),
            "time": self.time.astimezone(UTC).isoformat(),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_dict(cls, value: Any) -> Checkpoint:
        """A checkpoint as ``as_dict`` wrote it; anything else is ``KeyUnusable``."""
        try:
            if value["format"] != FORMAT:
                raise KeyUnusable(f"is not a {FORMAT} checkpoint")
            position = value["position"]
            if not isinstance(position, int) or isinstance(position, bool) or position < 0:
                raise KeyUnusable("has no valid position")
            chain = bytes.fromhex(str(value["chain"]))
            if len(chain) != 32:
                raise KeyUnusable("has no valid chain head")
            time = datetime.fromisoformat(str(value["time"]))
            if time.tzinfo is None:
                raise KeyUnusable("has a time without a zone")
            signature = base64.b64decode(str(value["signature"]), validate=True)
            return cls(position, chain, time, str(value.get("key_id", "")), signature)
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, KeyUnusable):
                raise
            raise KeyUnusable("is not a checkpoint (position, chain, time, signature)") from error

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(self.signature, self.payload(self.position, self.chain, self.time))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class CheckpointSigner:
    """Signs checkpoints with the log's key and publishes its public half."""

    key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    def sign(self, position: int, chain: bytes, time: datetime) -> Checkpoint:
        moment = time.astimezone(UTC)
        signature = self.key.sign(Checkpoint.payload(position, chain, moment))
        return Checkpoint(position, chain, moment, key_id(self.public_key), signature)
