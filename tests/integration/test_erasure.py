"""Crypto-shredding on PostgreSQL and the embedded store: erase an account, then replay, audit, read models, raw bytes.

Personal text is chosen so that nothing else in the stores can hold it by chance; after the erasure
the raw stored rows (events, snapshots, keys, read models; on SQLite the database files themselves)
are searched for it byte by byte.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import project_aggregate
from sqlalchemy import select

from application.shared.metadata import METADATA_KEY
from domain.accounts.account import Account
from domain.accounts.errors import AccountAlreadyErased, AccountClosed, EmailTaken, InvalidCredentials
from domain.accounts.values import Profile
from domain.shared.personal_data import ERASED, PersonalDataErased
from domain.shared.unique_key import UniqueKey
from infrastructure.accounts.tables import accounts
from infrastructure.root import Chronicle
from infrastructure.shared.eventlog import StreamReader
from tests.conftest import Clock, make_settings
from tests.integration.conftest import PASSWORD, ContainerFactory, context

EMAIL = "Zenobia.Quarrington@Example.com"
SECRETS = (b"Zenobia", b"zenobia", b"Quarrington", b"911222333", b"1815-12-10", b"Smythe")
PROFILE = Profile("Zenobia", "Quarrington", "+351", "911222333", date(1815, 12, 10))
UPDATES = 52  # past the account snapshot interval (50): a snapshot is stored too


@pytest.fixture(params=["postgres", "embedded"])
def chronicle(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Chronicle]:
    if request.param == "postgres":
        make_container: ContainerFactory = request.getfixturevalue("make_container")
        yield make_container()
        return
    settings = make_settings(tmp_path, None, None, run_projections_in_process=False, superadmin_email=None)
    built = Chronicle(settings, clock=clock)
    built.open()
    try:
        yield built
    finally:
        built.close()


def catch_up(chronicle: Chronicle) -> None:
    for runner in chronicle.runners.values():
        runner.catch_up()


def a_profiled_account(chronicle: Chronicle, clock: Clock) -> UUID:
    account_id = chronicle.accounts.register_account(
        context(clock), email=EMAIL, password=PASSWORD, profile=PROFILE, verified=True
    ).id
    for n in range(UPDATES):
        clock.advance(seconds=1)
        last = "Quarrington-Smythe" if n == UPDATES - 1 else f"Quarrington {n}"
        chronicle.accounts.update_profile(context(clock), account_id, Profile("Zenobia", last, "+351", "911222333"))
    return account_id


def stored_bytes(chronicle: Chronicle) -> list[bytes]:
    """Every stored byte that could hold personal text: event and snapshot states, keys, read-model rows.

    On the embedded store the database files themselves, WAL folded in (free pages included).
    """
    settings = chronicle.settings
    if settings.embedded:
        found = []
        for path in sorted(settings.data_dir.glob("*.sqlite3")):
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            found.append(path.read_bytes())
        return found
    with psycopg.connect(str(settings.database_url)) as conn:
        blobs = [bytes(row[0]) for row in conn.execute("SELECT state FROM chronicle_events")]
        blobs += [bytes(row[0]) for row in conn.execute("SELECT state FROM chronicle_snapshots")]
        tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            if table not in ("chronicle_events", "chronicle_snapshots"):
                blobs += [str(row).encode() for row in conn.execute(f'SELECT t.* FROM "{table}" t')]  # noqa: S608
    return blobs


def holds(blobs: list[bytes], secret: bytes) -> bool:
    return any(secret in blob for blob in blobs)


def account_row(chronicle: Chronicle, account_id: UUID) -> dict[str, object]:
    with chronicle.read_engine.connect() as conn:
        return dict(conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().one())


def test_personal_fields_are_never_stored_in_clear_in_the_log_even_before_an_erasure(
    chronicle: Chronicle, clock: Clock
) -> None:
    account_id = a_profiled_account(chronicle, clock)

    assert chronicle.accounts.snapshots is not None
    assert [s.originator_version for s in chronicle.accounts.snapshots.get(account_id)] == [50]
    recorder = chronicle.log.recorder
    log_states = [n.state for n in recorder.select_notifications(start=1, limit=10_000)]
    log_states += [s.state for s in chronicle.accounts.snapshots.recorder.select_events(account_id)]
    for secret in (*SECRETS, EMAIL.lower().encode(), EMAIL.encode()):
        assert not holds(log_states, secret), secret
    assert chronicle.accounts.repository.get(account_id).profile.last_name == "Quarrington-Smythe"


def test_after_erasure_replay_audit_and_read_models_show_erased_and_no_stored_byte_holds_the_text(
    chronicle: Chronicle, clock: Clock
) -> None:
    account_id = a_profiled_account(chronicle, clock)
    catch_up(chronicle)
    assert account_row(chronicle, account_id)["last_name"] == "Quarrington-Smythe"

    clock.advance(minutes=1)
    erased_at = clock()
    chronicle.accounts.erase_account(context(clock, actor="account:admin-1"), account_id)
    catch_up(chronicle)

    # Replay: the snapshot and every event read as erased, and the aggregate still loads.
    loaded = chronicle.accounts.repository.get(account_id)
    replayed = project_aggregate(None, chronicle.accounts.events.get(account_id))
    assert isinstance(loaded, Account) and loaded == replayed
    assert (loaded.email, loaded.profile.first_name, loaded.profile.last_name) == (ERASED, ERASED, ERASED)
    assert (loaded.profile.phone_number, loaded.profile.birthday, loaded.erased) == (None, None, True)
    # Audit: the stored states as an auditor reads them; the erasure itself says who and when.
    mapper = chronicle.log.metadata_mapper
    states = [mapper.decode_state(n) for n in StreamReader(chronicle.log.recorder).read(account_id)]
    registered = states[0]
    assert {registered[f] for f in ("email", "first_name", "last_name", "phone_number", "birthday")} == {ERASED}
    erasure = states[-1]
    assert erasure[METADATA_KEY]["actor"] == "account:admin-1" and erasure["timestamp"] == erased_at
    # Read models: purged, and the same after a rebuild from the log.
    row = account_row(chronicle, account_id)
    assert (row["email"], row["first_name"], row["last_name"], row["phone_number"], row["birthday"]) == (
        ERASED,
        ERASED,
        ERASED,
        None,
        None,
    )
    assert row["status"] == "closed"
    chronicle.runners["accounts"].reset()
    chronicle.runners["accounts"].catch_up()
    assert account_row(chronicle, account_id) == row
    # The raw stored rows: not a byte of the name, phone, birthday or address, in any case.
    blobs = stored_bytes(chronicle)
    for secret in (*SECRETS, EMAIL.lower().encode(), EMAIL.encode()):
        assert not holds(blobs, secret), secret


def test_an_erased_account_refuses_commands_and_logins_and_a_second_erasure(chronicle: Chronicle, clock: Clock) -> None:
    app = chronicle.accounts
    account_id = app.register_account(context(clock), email=EMAIL, password=PASSWORD, profile=PROFILE, verified=True).id
    app.erase_account(context(clock), account_id)

    with pytest.raises(AccountClosed):
        app.update_profile(context(clock), account_id, PROFILE)
    with pytest.raises(InvalidCredentials):
        app.log_in(context(clock), email=EMAIL, password=PASSWORD)
    with pytest.raises(AccountAlreadyErased):
        app.erase_account(context(clock), account_id)
    assert app.load(account_id, Account).version == 4  # registered, verified, closed, erased


def test_an_erased_address_may_register_again_once_and_its_claim_holds_no_address(
    chronicle: Chronicle, clock: Clock
) -> None:
    app = chronicle.accounts
    first = app.register_account(context(clock), email=EMAIL, password=PASSWORD, profile=PROFILE, verified=True).id
    with pytest.raises(EmailTaken):
        app.register_account(context(clock), email=EMAIL.upper(), password=PASSWORD, profile=PROFILE)

    app.erase_account(context(clock), first)
    second = app.register_account(context(clock), email=EMAIL.upper(), password=PASSWORD, profile=PROFILE).id

    assert second != first and app.account_id_for(EMAIL) == second
    with pytest.raises(EmailTaken):
        app.register_account(context(clock), email=EMAIL, password=PASSWORD, profile=PROFILE)
    claims = [
        chronicle.log.repository.get(n.originator_id)
        for n in chronicle.log.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith("UniqueKey.Claimed")
    ]
    assert len(claims) == 1 and isinstance(claims[0], UniqueKey) and claims[0].owner_id == second
    assert "example.com" not in claims[0].key and len(claims[0].key) == 64


def test_the_owner_closing_with_erase_erases_and_a_close_without_it_keeps_the_data(
    chronicle: Chronicle, clock: Clock
) -> None:
    app = chronicle.accounts

    def registered(email: str) -> UUID:
        return app.register_account(context(clock), email=email, password=PASSWORD, profile=PROFILE, verified=True).id

    kept, erased = registered("kept@example.com"), registered("gone@example.com")
    owner: Callable[[UUID], str] = lambda account_id: f"account:{account_id}"  # noqa: E731
    with pytest.raises(InvalidCredentials):
        app.close_own_account(context(clock, owner(erased)), erased, password="wrong-1", erase=True)

    app.close_own_account(context(clock, owner(kept)), kept, password=PASSWORD)
    app.close_own_account(context(clock, owner(erased)), erased, password=PASSWORD, erase=True)

    assert app.load(kept, Account).profile.first_name == "Zenobia"
    gone = app.load(erased, Account)
    assert gone.erased and gone.profile.first_name == ERASED
    events = list(app.events.get(erased))
    assert isinstance(events[-1], Account.Erased) and events[-1].by_owner


def test_a_command_that_loaded_the_account_before_its_erasure_stores_nothing_and_is_a_conflict(
    chronicle: Chronicle, clock: Clock
) -> None:
    app = chronicle.accounts
    account_id = app.register_account(context(clock), email=EMAIL, password=PASSWORD, profile=PROFILE, verified=True).id
    stale = app.load(account_id, Account)

    app.erase_account(context(clock), account_id)
    stale.update_profile(profile=PROFILE, now=clock())

    with pytest.raises(PersonalDataErased) as refused:
        app.record(context(clock), stale)
    assert refused.value.code == "account_erased"
    assert app.load(account_id, Account).version == 4
