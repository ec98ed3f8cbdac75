"""Big logs without running a million commands: real Account events, encoded by the application's own mapper,
bulk-loaded with COPY into ``chronicle_events`` at consecutive positions, each with its hash-chain link
(computed here as the append function would, so that appends after the backlog extend a valid chain).

Each account contributes five events (Registered, EmailVerified, three ProfileUpdated), produced by the
aggregate's own methods and carrying command metadata, so a projection folding the log folds real events.
Their personal fields are sealed as the application seals them, each chunk of accounts' keys made at once
beforehand (``ensure_keys``: two round trips a chunk, where making each key alone took three).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext
from application.shared.metadata import recording_metadata
from domain.accounts.account import Account
from domain.accounts.values import Profile
from infrastructure.shared.chain import GENESIS, link

EVENTS_PER_ACCOUNT = 5
PASSWORD_HASH = "$argon2id$v=19$m=1024,t=1,p=1$YmVuY2htYXJrc2FsdA$0123456789abcdefghijklmnopqrstuv"  # noqa: S105 - a fixed, fake hash
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# Accounts whose keys are made at once (well within the key cache's bound, so none is forgotten before its seals).
KEY_CHUNK = 1000


def account_id(index: int) -> UUID:
    """Deterministic ids, so a repeated run builds the same log."""
    return UUID(int=(0xBE7C << 112) | index)


def account_events(index: int, *, updates: int = EVENTS_PER_ACCOUNT - 2) -> list[Any]:
    """One account's events as the domain produces them: registration, verification, profile updates."""
    now = _EPOCH + timedelta(seconds=index)
    account = Account.register(
        account_id=account_id(index),
        email=f"bench-{index}@example.com",
        profile=Profile("Ada", f"Lovelace{index % 997}"),
        password_hash=PASSWORD_HASH,
        now=now,
    )
    account.verify_email(nonce=None, now=now)
    for n in range(updates):
        account.update_profile(profile=Profile("Ada", f"Byron{(index + n) % 997}"), now=now + timedelta(minutes=n))
    return list(account.collect_events())


def encoded_rows(app: ChronicleApplication, accounts: range) -> Iterator[tuple[UUID, int, str, bytes]]:
    context = CommandContext(actor="bench", correlation_id="bench-backlog", causation_id="bench-backlog", now=_EPOCH)
    with recording_metadata(context):
        for start in range(accounts.start, accounts.stop, KEY_CHUNK):
            chunk = range(start, min(start + KEY_CHUNK, accounts.stop))
            app.metadata_mapper.ensure_keys([account_id(index) for index in chunk])
            for index in chunk:
                for event in account_events(index):
                    stored = app.mapper.to_stored_event(event)
                    yield stored.originator_id, stored.originator_version, stored.topic, stored.state  # type: ignore[misc]


def load_backlog(app: ChronicleApplication, database_url: str, events: int) -> int:
    """Append ``events`` (rounded up to whole accounts) after whatever the log holds; answers the new head."""
    with psycopg.connect(database_url) as conn:
        head = int(conn.execute("SELECT coalesce(max(notification_id), 0) FROM chronicle_events").fetchone()[0])  # type: ignore[index]
        first_account = int(conn.execute("SELECT count(*) FROM chronicle_events").fetchone()[0]) // EVENTS_PER_ACCOUNT  # type: ignore[index]
        accounts = range(first_account, first_account + -(-events // EVENTS_PER_ACCOUNT))
        last = conn.execute("SELECT chain FROM chronicle_events ORDER BY notification_id DESC LIMIT 1").fetchone()
        previous = bytes(last[0]) if last else GENESIS
        position = head
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY chronicle_events (notification_id, originator_id, originator_version, topic, state, chain) "
                "FROM STDIN"
            ) as copy,
        ):
            for originator_id, version, topic, state in encoded_rows(app, accounts):
                position += 1
                previous = link(previous, position, originator_id, version, topic, state)
                copy.write_row((position, originator_id, version, topic, state, previous))
        conn.execute("SELECT setval(pg_get_serial_sequence('chronicle_events', 'notification_id'), %s)", (position,))
        conn.commit()
        conn.execute("ANALYZE chronicle_events")
    return position
