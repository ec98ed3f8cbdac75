"""UniqueKey: a stream per (scope, normalized key), claimed by at most one owner.

Invariants:
- its id is derived from the scope and the normalized key, so two creations racing for
  one key both write the first event of the same stream and only one can succeed;
- it names exactly one owner, fixed at creation.

Saved in the same atomic ``save`` as the owner's creation, it makes a business key
(an order number, a sku) unique across the whole log without a lookup table.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


def unique_id(scope: str, key: str) -> UUID:
    """The stream id of ``key`` (already normalized) within ``scope``."""
    return uuid5(NAMESPACE_URL, f"chronicle:{scope}:{key}")


class UniqueKey(Aggregate):
    """Maps a normalized business key within a scope to the aggregate that claimed it."""

    class Claimed(Aggregate.Created):
        scope: str
        key: str
        owner_id: UUID

    def __init__(self, scope: str, key: str, owner_id: UUID) -> None:
        self.scope = scope
        self.key = key
        self.owner_id = owner_id

    @classmethod
    def claim(cls, *, scope: str, key: str, owner_id: UUID, now: datetime) -> UniqueKey:
        return cls._create(
            cls.Claimed, id=unique_id(scope, key), timestamp=now, scope=scope, key=key, owner_id=owner_id
        )
