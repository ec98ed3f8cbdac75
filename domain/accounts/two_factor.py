"""An account's second factor (TOTP): its sealed seed, recovery codes and the codes already used.

The domain never sees a seed or a recovery code in clear: the seed arrives sealed (encrypted by
infrastructure), a code arrives as the time step it matched (or ``None``), a recovery code as its
keyed hash. The rules here decide what is accepted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from domain.accounts.errors import InvalidSecondFactor

RECOVERY_CODE_COUNT = 10


@dataclass(frozen=True)
class TwoFactor:
    """Invariants: on only with a sealed seed and recovery codes; a used step or recovery code never works again."""

    sealed_secret: str | None = None
    enabled: bool = False
    recovery_code_hashes: list[str] = field(default_factory=list)
    recovery_codes_used: list[int] = field(default_factory=list)
    last_step: int | None = None

    @property
    def pending(self) -> bool:
        """Enrolled, not yet confirmed."""
        return self.sealed_secret is not None and not self.enabled

    @property
    def recovery_codes_left(self) -> int:
        return len(self.recovery_code_hashes) - len(self.recovery_codes_used)

    def check_step(self, step: int | None) -> int:
        """A code's step is accepted once, and only after the last accepted one (no replay)."""
        if step is None or (self.last_step is not None and step <= self.last_step):
            raise InvalidSecondFactor()
        return step

    def recovery_index(self, code_hash: str) -> int:
        """The unused recovery code with this keyed hash; every stored hash is compared."""
        found = None
        for index, stored in enumerate(self.recovery_code_hashes):
            if hmac.compare_digest(stored, code_hash) and index not in self.recovery_codes_used:
                found = index
        if found is None:
            raise InvalidSecondFactor()
        return found
