"""EmailIndex: one stream per normalized email, claimed by at most one account.

Invariants:
- its id is derived from the normalized email, so two registrations of one address
  (in any letter case) write the first event of the same stream and only one can succeed;
- it names exactly one account, fixed at creation.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.account import normalize_email
from domain.errors import DomainError
from domain.unique_key import unique_id


class EmailTaken(DomainError):
    code = "email_taken"
    title = "An account with this email already exists"


class EmailIndex(Aggregate):
    """Maps a normalized email to the account that registered it."""

    class Claimed(Aggregate.Created):
        email_key: str
        account_id: UUID

    def __init__(self, email_key: str, account_id: UUID) -> None:
        self.email_key = email_key
        self.account_id = account_id

    @staticmethod
    def id_for(email: str) -> UUID:
        return unique_id("email", normalize_email(email))

    @classmethod
    def claim(cls, *, email: str, account_id: UUID, now: datetime) -> EmailIndex:
        key = normalize_email(email)
        return cls._create(cls.Claimed, id=cls.id_for(key), timestamp=now, email_key=key, account_id=account_id)
