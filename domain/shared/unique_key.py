"""UniqueKey: a stream per (scope, normalized key), claimed by at most one owner.

Invariants:
- its id is derived from the scope and the normalized key, so two creations racing for
  one key both write the first event of the same stream and only one can succeed;
- it names at most one owner: the one that claimed it, until it is released (an erased account's
  address); a released key may be claimed again by one new owner (two racing for it write the
  same next version of its stream, so only one succeeds).

Saved in the same atomic ``save`` as the owner's creation, it makes a business key
(an email, an order number, a sku) unique across the whole log without a lookup table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.shared.errors import DomainError
from domain.shared.topics import moved


class KeyStillClaimed(DomainError):
    code = "key_claimed"
    title = "The key belongs to another owner"


def unique_id(scope: str, key: str) -> UUID:
    """The stream id of ``key`` (already normalized) within ``scope``."""
    return uuid5(NAMESPACE_URL, f"chronicle:{scope}:{key}")


class UniqueKey(Aggregate):
    """Maps a normalized business key within a scope to the aggregate that claimed it."""

    class Claimed(Aggregate.Created):
        scope: str
        key: str
        owner_id: UUID

        # v1 had two shapes: this one, and the email index's ``{email_key, account_id}`` (its own
        # aggregate until emails became one more scope). Stream ids are the same in both.
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            if "email_key" in state:
                state["scope"] = EMAIL_SCOPE
                state["key"] = state.pop("email_key")
                state["owner_id"] = state.pop("account_id")

    class Released(Aggregate.Event):
        def apply(self, unique_key: UniqueKey) -> None:
            unique_key.owner_id = None

    class Reclaimed(Aggregate.Event):
        owner_id: UUID

        def apply(self, unique_key: UniqueKey) -> None:
            unique_key.owner_id = self.owner_id

    def __init__(self, scope: str, key: str, owner_id: UUID) -> None:
        self.scope = scope
        self.key = key
        self.owner_id: UUID | None = owner_id

    def release(self, *, now: datetime) -> None:
        """The owner gives the key up (an erased account): it may be claimed again."""
        if self.owner_id is not None:
            self.trigger_event(self.Released, timestamp=now)

    def reclaim(self, *, owner_id: UUID, now: datetime) -> None:
        """A new owner claims a released key; a key still owned stays its owner's."""
        if self.owner_id is not None:
            raise KeyStillClaimed(f"The {self.scope} key is claimed")
        self.trigger_event(self.Reclaimed, owner_id=owner_id, timestamp=now)

    @classmethod
    def claim(cls, *, scope: str, key: str, owner_id: UUID, now: datetime) -> UniqueKey:
        return cls._create(
            cls.Claimed, id=unique_id(scope, key), timestamp=now, scope=scope, key=key, owner_id=owner_id
        )


# The scope of account emails as older code claimed them: the key is the normalized address itself.
EMAIL_SCOPE = "email"
# The scope of account emails since personal data is sealed: the key is a keyed hash (HMAC) of the address.
EMAIL_MAC_SCOPE = "email-mac"

moved("domain.unique_key", UniqueKey)
moved("domain.email_index", UniqueKey, as_name="EmailIndex")
