"""Signed webhooks, Stripe's scheme: ``Chronicle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The MAC is over ``"{t}.{body}"`` with the shared secret, so a signature binds the body to its time;
a signature older (or further in the future) than the tolerance is refused, which bounds a replay of
a captured request to that window, and the provider's event id makes a replay inside it change nothing.
Several ``v1`` values may be sent (a provider rolling its secret signs with both).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

SIGNATURE_HEADER = "Chronicle-Signature"
MAX_HEADER_CHARS = 1024
_SCHEME = "v1"


class BadSignature(Exception):
    """The webhook's signature is missing, malformed, wrong or outside the tolerance; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a provider sends with ``body`` at ``timestamp``."""
    return f"t={timestamp},{_SCHEME}={mac(secret, timestamp, body)}"


def verify(secret: str, header: str | None, body: bytes, now: float, tolerance_seconds: int) -> int:
    """The signed timestamp, when ``header`` signs ``body`` with ``secret`` within the tolerance; else BadSignature."""
    if not header:
        raise BadSignature("missing")
    if len(header) > MAX_HEADER_CHARS:
        raise BadSignature("malformed")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise BadSignature("malformed")
        if name == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                raise BadSignature("malformed")
            timestamp = int(value)
        elif name == _SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise BadSignature("malformed")
    expected = mac(secret, timestamp, body)
    # Every candidate is compared (in constant time each), so the time taken does not tell which one matched.
    matched = [hmac.compare_digest(expected.encode(), c.encode()) for c in candidates]
    if not any(matched):
        raise BadSignature("mismatch")
    if abs(now - timestamp) > tolerance_seconds:
        raise BadSignature("stale")
    return timestamp


class WebhookSecrets:
    """Which providers may post webhooks, the secret they sign with and the tolerance (from settings)."""

    def __init__(
        self, secret: str | None, tolerance_seconds: int, providers: frozenset[str], clock: Callable[[], float]
    ) -> None:
        self._secret = secret
        self.tolerance_seconds = tolerance_seconds
        self.providers = providers
        self._clock = clock

    @property
    def configured(self) -> bool:
        return self._secret is not None

    def verify(self, header: str | None, body: bytes) -> int:
        """The signed timestamp of a good signature; BadSignature otherwise (and when no secret is set)."""
        if self._secret is None:
            raise BadSignature("not_configured")
        return verify(self._secret, header, body, self._clock(), self.tolerance_seconds)
