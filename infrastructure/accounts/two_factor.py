"""TOTP seeds (pyotp), sealed with AES-GCM, and recovery codes as HMAC-SHA256: the ``SecondFactorKeys`` port.

Both keys are derived with HKDF-SHA256 from one master key (``TWO_FACTOR_KEY``, else ``JWT_SECRET``),
each under its own ``info`` string, so neither key is the master nor the other. A seed is sealed
for one account (its id is the associated data): a sealed seed copied into another account's
history does not open. Changing the master key makes every sealed seed and recovery hash unusable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from uuid import UUID

import pyotp

from infrastructure.shared.sealing import Sealer, derive_key

SEAL_INFO = b"chronicle/accounts/totp-seed-seal/v1"
RECOVERY_INFO = b"chronicle/accounts/recovery-code-hash/v1"
FAILURE_KEY_INFO = b"chronicle/accounts/login-failure-key/v1"
_SEALED_PREFIX = "v1."
# Recovery codes: 10 characters without look-alikes (about 49 bits), shown as two groups of five.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10


__all__ = ["FAILURE_KEY_INFO", "TotpKeys", "derive_key"]


def _normalize_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


class TotpKeys:
    """RFC 6238 codes (30 s steps, 6 digits, SHA-1: what authenticator apps expect), one step either way."""

    def __init__(self, master_key: str, issuer: str = "Chronicle") -> None:
        self._sealer = Sealer(derive_key(master_key, SEAL_INFO))
        self._recovery_key = derive_key(master_key, RECOVERY_INFO)
        self._issuer = issuer

    def new_secret(self) -> str:
        return pyotp.random_base32()

    def seal(self, account_id: UUID, secret: str) -> str:
        return _SEALED_PREFIX + self._sealer.seal(secret.encode(), _associated_data(account_id))

    def unseal(self, account_id: UUID, sealed: str) -> str:
        return self._sealer.open(sealed.removeprefix(_SEALED_PREFIX), _associated_data(account_id)).decode()

    def provisioning_uri(self, secret: str, email: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=self._issuer)

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        totp = pyotp.TOTP(secret)
        code = "".join(code.split())
        current = totp.timecode(now)
        found = None
        for step in (current - 1, current, current + 1):  # every candidate is compared, in constant time
            if hmac.compare_digest(totp.generate_otp(step), code):
                found = step
        return found

    def new_recovery_codes(self, count: int) -> list[str]:
        codes = []
        for _ in range(count):
            raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
            codes.append(f"{raw[:5]}-{raw[5:]}")
        return codes

    def recovery_code_hash(self, code: str) -> str:
        message = _normalize_recovery_code(code).encode()
        return hmac.new(self._recovery_key, message, hashlib.sha256).hexdigest()


def _associated_data(account_id: UUID) -> bytes:
    return b"chronicle-totp-seed:" + account_id.bytes
