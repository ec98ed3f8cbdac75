"""Ports every context may use; infrastructure implements them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class MailMessage:
    """One email; ``message_id`` is stable for the event that caused it, so resending overwrites."""

    message_id: str
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    """Delivers a message; delivering the same ``message_id`` twice delivers it once."""

    def send(self, message: MailMessage) -> None: ...


@dataclass(frozen=True)
class AccessState:
    """What an edge needs to authorize a caller's token right now: all of it from the account's state.

    A token names an account and a session; it grants nothing itself. ``known`` is False while the
    read model does not know the account, or the session (of that account): the edge then waits for
    the position that issued the token, and refuses it if the read model got there without them.
    """

    roles: tuple[str, ...] | None  # None: the account is not known (yet) to the read model
    session_known: bool  # the session exists and belongs to the account
    session_revoked: bool
    barred: str | None = None  # why the account may not act at all (its status), if it may not

    @property
    def known(self) -> bool:
        return self.roles is not None and self.session_known


class AccessStates(Protocol):
    """Who may act right now: read by every edge that authenticates a caller (the accounts read model answers).

    ``read_model`` names the projection the answers come from: the edge refuses to decide while it is
    too far behind the log (it may not know of a revocation yet), and waits on it for new sessions.
    """

    @property
    def read_model(self) -> str: ...

    def access_state(self, account_id: UUID, session_id: UUID) -> AccessState: ...


class PersonalDataCipher(Protocol):
    """Seals personal values with a key of their subject (a stream), and opens them while that key exists.

    A sealed value is a plain string (``pii:v1:<key id>:<base64 nonce+ciphertext>``), so the event
    transcoder stores it like any other; destroying the subject's key erases every value sealed
    with it (crypto-shredding), wherever it was copied: events, snapshots, exports.
    """

    def is_sealed(self, value: object) -> bool:
        """Whether ``value`` is a sealed personal value (else it was stored in clear, by older code)."""
        ...

    def seal(self, subject_id: UUID, path: str, value: str | date) -> str:
        """``value`` sealed for ``subject_id``'s field ``path`` (its key is made on first use)."""
        ...

    def open(self, subject_id: UUID, path: str, sealed: str) -> str | date | None:
        """The value, or ``None`` once the key was destroyed; raises for a value altered or moved."""
        ...

    def erased(self, subject_id: UUID) -> bool:
        """Whether the subject's key was destroyed (its values stored in clear by older code are hidden too)."""
        ...

    def destroy(self, subject_id: UUID) -> None:
        """Destroy the subject's key for good (idempotent); nothing sealed for it opens again."""
        ...

    def prefetch(self, subject_ids: Collection[UUID]) -> None:
        """Look the keys of many subjects up at once (a projection's batch), ahead of opening their values."""
        ...

    def ensure_keys(self, subject_ids: Collection[UUID]) -> None:
        """Make the keys of many subjects at once (a bulk load), ahead of sealing their values; a key made
        first elsewhere is kept and an erased subject stays erased."""
        ...


@dataclass(frozen=True)
class PlanEntitlements:
    """What an account's plan lets it do right now: the plan's limits (a missing name is unlimited) and features.

    The subscriptions read side answers it from the account's live subscription (``unpaid`` and no
    subscription at all get the free plan's).
    """

    plan_code: str
    limits: Mapping[str, int] = field(default_factory=dict)
    features: frozenset[str] = frozenset()

    def limit(self, name: str) -> int | None:
        """The plan's limit called ``name``; None when the plan sets none (unlimited)."""
        return self.limits.get(name)

    def allows(self, feature: str) -> bool:
        return feature in self.features


class Entitlements(Protocol):
    """The limits and features of an account's plan: how other contexts ask (work orders' bulk import now,
    trades' ``trades_per_day`` and flows' ``active_flows`` later)."""

    def limits_for(self, account_id: UUID) -> PlanEntitlements: ...
