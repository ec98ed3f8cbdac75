"""A log written before personal fields were sealed still loads, projects the same rows, and can be erased.

``tests/fixtures/plain_log`` was written by ``tests/fixtures/make_plain_log.py`` at the commit before
crypto-shredding: its names, phone, birthday and addresses are stored in clear, its email claims
hold the address (uuid5 of it), and one account snapshot is in clear too. Stored bytes are never
rewritten (the hash chain covers them), so an erased old account's events keep their clear text
in the log; everything that reads them (replay, audit, read models) shows them as erased.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from application.shared.commands import CommandContext
from domain.accounts.account import Account
from domain.accounts.errors import EmailTaken
from domain.accounts.values import Profile
from domain.shared.personal_data import ERASED
from infrastructure.accounts.tables import accounts
from infrastructure.root import Chronicle
from infrastructure.shared.eventlog import StreamReader
from tests.conftest import Clock, make_settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "plain_log"
PASSWORD = "s3cretpass-9"  # the fixture's accounts' password (make_plain_log.py)


@pytest.fixture
def old() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURE / "accounts.json").read_text())
    return loaded


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Chronicle]:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE / "events.sqlite3", data / "events.sqlite3")
    chronicle = Chronicle(make_settings(tmp_path, None, None, superadmin_email=None), clock=Clock())
    chronicle.start(run_projections=False)
    try:
        yield chronicle
    finally:
        chronicle.close()


def ctx(chronicle: Chronicle, actor: str = "compat-test") -> CommandContext:
    return CommandContext(actor=actor, correlation_id="compat", causation_id="compat", now=chronicle.clock())


def rows(chronicle: Chronicle) -> list[dict[str, Any]]:
    with chronicle.read_engine.connect() as conn:
        found = conn.execute(select(accounts).order_by(accounts.c.id)).mappings()
        return [
            {k: v.isoformat() if hasattr(v, "isoformat") else (str(v) if k == "id" else v) for k, v in r.items()}
            for r in found
        ]


def test_the_plain_log_loads_in_clear_from_its_snapshot_and_projects_the_rows_the_old_code_wrote(
    plain: Chronicle, old: dict[str, Any]
) -> None:
    account_id = UUID(old["ids"]["plain"])
    assert plain.accounts.snapshots is not None and len(list(plain.accounts.snapshots.get(account_id))) == 1

    account = plain.accounts.load(account_id, Account)
    for runner in plain.runners.values():
        runner.catch_up()

    assert (account.email, account.profile.last_name, account.profile.birthday) == (
        "Plain@Example.com",
        "Plainview-Smith",
        date(1990, 4, 12),
    )
    # Nothing of the old log was rewritten; what this start appended is the subscriptions context's own (the
    # free plan, and the old accounts' free subscriptions by the free-plan policy).
    head = plain.head_position()
    assert head > old["head"]
    appended = plain.log.recorder.select_notifications(start=old["head"] + 1, limit=head)
    assert {n.topic.partition(":")[0] for n in appended} <= {
        "domain.subscriptions.plan",
        "domain.subscriptions.subscription",
    }
    assert rows(plain) == old["rm_accounts"]


def test_an_old_account_logs_in_by_its_old_email_claim_and_its_address_stays_taken(
    plain: Chronicle, old: dict[str, Any]
) -> None:
    grant = plain.accounts.log_in(ctx(plain), email="PLAIN@example.com", password=PASSWORD)

    assert str(grant.account_id) == old["ids"]["plain"]
    with pytest.raises(EmailTaken):
        plain.accounts.register_account(
            ctx(plain), email="plain@example.com", password=PASSWORD, profile=Profile("P", "P")
        )


def test_erasing_an_old_account_hides_its_clear_fields_everywhere_they_are_read_and_frees_its_address(
    plain: Chronicle, old: dict[str, Any]
) -> None:
    account_id = UUID(old["ids"]["plain"])

    plain.accounts.erase_account(ctx(plain, "account:admin"), account_id)
    for runner in plain.runners.values():
        runner.catch_up()

    account = plain.accounts.load(account_id, Account)  # through its clear snapshot, then the later events
    assert (account.email, account.profile.first_name, account.profile.birthday, account.erased) == (
        ERASED,
        ERASED,
        None,
        True,
    )
    mapper = plain.log.metadata_mapper
    registered = mapper.decode_state(StreamReader(plain.log.recorder).read(account_id)[0])
    assert {registered[f] for f in ("email", "first_name", "last_name", "phone_number", "birthday")} == {ERASED}
    (row,) = [r for r in rows(plain) if r["id"] == str(account_id)]
    assert (row["email"], row["first_name"], row["phone_number"], row["birthday"]) == (ERASED, ERASED, None, None)
    # The address registers again (under a keyed-hash claim); the old clear claim was released.
    again = plain.accounts.register_account(
        ctx(plain), email="plain@example.com", password=PASSWORD, profile=Profile("New", "Owner")
    )
    assert plain.accounts.account_id_for("Plain@Example.com") == again.id
    # What the brief cannot undo: the old events' stored bytes keep their clear text (never rewritten).
    first = plain.log.recorder.select_events(account_id, limit=1)[0]
    assert b"Plainview" in first.state


def test_an_old_account_never_erased_keeps_reading_its_clear_fields_while_new_events_are_sealed(
    plain: Chronicle, old: dict[str, Any]
) -> None:
    account_id = UUID(old["ids"]["plain"])

    plain.accounts.update_profile(ctx(plain), account_id, Profile("Pia", "Sealed-Now", "+351", "912000111"))

    newest = plain.log.recorder.select_events(account_id, desc=True, limit=1)[0]
    assert b"Sealed-Now" not in newest.state and b"pii:v1:" in newest.state
    assert plain.accounts.load(account_id, Account).profile.last_name == "Sealed-Now"
