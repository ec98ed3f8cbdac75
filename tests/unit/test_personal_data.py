"""Crypto-shredding, unit: the cipher (seal, open, destroy), the key stores, and the mapper that seals events."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection, Iterator, Mapping
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidTag
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from sqlalchemy import Engine, create_engine, select, text

from application.accounts.application import register_account_transcodings
from application.shared.application import ChronicleApplication
from application.shared.metadata import PersonalDataUnprotected, defer_personal_state
from application.shared.repository import mutate_each
from domain.accounts.account import Account
from domain.accounts.values import Profile
from domain.shared.personal_data import ERASED, DefersPersonalState
from domain.shared.unique_key import UniqueKey
from infrastructure.shared import personal_data
from infrastructure.shared.personal_data import (
    PREFIX,
    MemoryKeyStore,
    PersonalDataKeys,
    SqlKeyStore,
    SubjectErased,
    pii_keys,
)
from tests.conftest import TEST_DATABASE_URL
from tests.unit.builders import NOW

MASTER = "a-unit-test-pii-master-key-0123456789"
ADA = UUID("00000000-0000-4000-8000-00000000ada0")


@pytest.fixture
def keys() -> PersonalDataKeys:
    return PersonalDataKeys(MASTER, MemoryKeyStore(), cache_seconds=0)


def test_a_sealed_value_is_a_plain_string_naming_its_key_and_opens_to_what_was_sealed(keys: PersonalDataKeys) -> None:
    name = keys.seal(ADA, "first_name", "Ada")
    birthday = keys.seal(ADA, "birthday", date(1815, 12, 10))

    assert name.startswith(f"{PREFIX}{ADA.hex}:") and "Ada" not in name
    assert keys.is_sealed(name) and not keys.is_sealed("Ada")
    assert keys.open(ADA, "first_name", name) == "Ada"
    assert keys.open(ADA, "birthday", birthday) == date(1815, 12, 10)
    assert keys.seal(ADA, "first_name", "Ada") != name  # a fresh nonce each time


def test_a_sealed_value_moved_to_another_field_or_subject_or_altered_does_not_open(keys: PersonalDataKeys) -> None:
    name = keys.seal(ADA, "first_name", "Ada")
    other = uuid4()
    keys.seal(other, "first_name", "Bob")

    with pytest.raises(InvalidTag):
        keys.open(ADA, "last_name", name)
    with pytest.raises(ValueError, match="Not a sealed value"):
        keys.open(other, "first_name", name)
    altered = name[:-2] + ("A" if name[-2] != "A" else "B") + name[-1]
    with pytest.raises(InvalidTag):
        keys.open(ADA, "first_name", altered)


def test_after_destroy_every_value_of_the_subject_opens_as_none_and_nothing_more_is_sealed(
    keys: PersonalDataKeys,
) -> None:
    name = keys.seal(ADA, "first_name", "Ada")
    bob = uuid4()
    bobs = keys.seal(bob, "first_name", "Bob")

    keys.destroy(ADA)
    keys.destroy(ADA)  # idempotent

    assert keys.open(ADA, "first_name", name) is None
    assert keys.erased(ADA) and not keys.erased(bob)
    assert keys.open(bob, "first_name", bobs) == "Bob"
    with pytest.raises(SubjectErased):
        keys.seal(ADA, "first_name", "Ada")


def test_with_the_key_cached_a_value_still_opens_only_for_its_own_subject_and_path() -> None:
    keys = PersonalDataKeys(MASTER, MemoryKeyStore(), cache_seconds=3600)
    other = uuid4()
    first, last = keys.seal(ADA, "first_name", "Ada"), keys.seal(ADA, "last_name", "Lovelace")
    keys.seal(other, "first_name", "Bob")
    assert (keys.open(ADA, "first_name", first), keys.open(ADA, "last_name", last)) == ("Ada", "Lovelace")

    with pytest.raises(InvalidTag):  # each path's associated data, however often it was used before
        keys.open(ADA, "last_name", first)
    with pytest.raises(ValueError, match="Not a sealed value"):
        keys.open(other, "first_name", first)
    with pytest.raises(ValueError, match="Not a sealed value"):
        keys.open(ADA, "first_name", f"{PREFIX}{ADA.hex}:")  # no sealed part


def test_a_value_whose_key_id_is_spelled_as_another_form_of_its_subjects_id_opens_for_that_subject_only(
    keys: PersonalDataKeys,
) -> None:
    sealed = keys.seal(ADA, "first_name", "Ada")
    respelled = sealed.replace(ADA.hex, ADA.hex.upper(), 1)
    keys.seal(other := uuid4(), "first_name", "Bob")

    assert keys.open(ADA, "first_name", respelled) == "Ada"
    with pytest.raises(ValueError, match="Not a sealed value"):
        keys.open(other, "first_name", respelled)


def test_destroying_a_cached_key_erases_its_values_in_this_process_at_once() -> None:
    keys = PersonalDataKeys(MASTER, MemoryKeyStore(), cache_seconds=3600)
    name = keys.seal(ADA, "first_name", "Ada")
    keys.prefetch([ADA])
    assert keys.open(ADA, "first_name", name) == "Ada"

    keys.destroy(ADA)

    assert keys.open(ADA, "first_name", name) is None
    assert keys.erased(ADA)


def test_a_subject_never_sealed_for_is_not_erased_until_destroyed_and_then_never_gets_a_key(
    keys: PersonalDataKeys,
) -> None:
    legacy = uuid4()
    assert not keys.erased(legacy)

    keys.destroy(legacy)

    assert keys.erased(legacy)
    with pytest.raises(SubjectErased):
        keys.seal(legacy, "email", "old@example.com")


def test_another_master_key_opens_no_wrapped_key(keys: PersonalDataKeys) -> None:
    name = keys.seal(ADA, "first_name", "Ada")
    thief = PersonalDataKeys("another-master-key-of-enough-length-42", keys.store, cache_seconds=0)

    with pytest.raises(InvalidTag):
        thief.open(ADA, "first_name", name)


def test_only_text_and_dates_are_sealed(keys: PersonalDataKeys) -> None:
    with pytest.raises(TypeError):
        keys.seal(ADA, "age", 42)  # type: ignore[arg-type]


def test_another_process_sees_a_destroyed_key_once_its_cache_expires() -> None:
    store = MemoryKeyStore()
    here = PersonalDataKeys(MASTER, store, cache_seconds=0)
    there = PersonalDataKeys(MASTER, store, cache_seconds=3600)
    name = here.seal(ADA, "first_name", "Ada")
    assert there.open(ADA, "first_name", name) == "Ada"  # cached there

    here.destroy(ADA)

    assert here.open(ADA, "first_name", name) is None
    assert there.open(ADA, "first_name", name) == "Ada"  # the documented bound: PII_KEY_CACHE_SECONDS
    assert PersonalDataKeys(MASTER, store, cache_seconds=3600).open(ADA, "first_name", name) is None


def test_email_claim_keys_are_a_keyed_hash_of_the_address_not_the_address(keys: PersonalDataKeys) -> None:
    mac = keys.email_claim_key("ada@example.com")

    assert mac == keys.email_claim_key("ada@example.com") and len(mac) == 64
    assert "ada" not in mac and mac != keys.email_claim_key("ada@example.org")
    assert (
        PersonalDataKeys("another-master-key-of-enough-length-42", MemoryKeyStore()).email_claim_key("ada@example.com")
        != mac
    )


# --- the SQL key store, on SQLite and PostgreSQL -------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'keys.sqlite3'}")
    else:
        engine = create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"), pool_size=1)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS pii_keys"))
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_key_table_holds_each_key_wrapped_and_a_tombstone_after_destroy(engine: Engine) -> None:
    keys = PersonalDataKeys(MASTER, SqlKeyStore(engine, lambda: NOW), cache_seconds=0)
    name = keys.seal(ADA, "first_name", "Ada")
    with engine.connect() as conn:
        wrapped = conn.execute(select(pii_keys.c.wrapped_key).where(pii_keys.c.subject_id == ADA)).scalar_one()
    assert wrapped is not None and len(bytes(wrapped)) > 32  # sealed: nonce, key and tag, base64

    keys.destroy(ADA)

    with engine.connect() as conn:
        row = conn.execute(select(pii_keys).where(pii_keys.c.subject_id == ADA)).mappings().one()
    assert row["wrapped_key"] is None and row["erased_at"] is not None
    assert keys.open(ADA, "first_name", name) is None
    # A second store over the same table (another process) agrees, and makes no new key for the subject.
    again = PersonalDataKeys(MASTER, SqlKeyStore(engine), cache_seconds=0)
    with pytest.raises(SubjectErased):
        again.seal(ADA, "first_name", "Ada")


def test_the_key_table_answers_a_batch_with_its_keys_and_tombstones_and_leaves_unknown_subjects_out(
    engine: Engine,
) -> None:
    store = SqlKeyStore(engine, lambda: NOW)
    keys = PersonalDataKeys(MASTER, store, cache_seconds=0)
    kept, erased, unknown = uuid4(), uuid4(), uuid4()
    for subject in (kept, erased):
        keys.seal(subject, "email", "a@example.com")
    keys.destroy(erased)

    found = store.get_many([kept, erased, unknown])

    assert found == {kept: store.get(kept), erased: (True, None)}
    assert found[kept][1] is not None


def test_two_processes_making_a_subjects_first_key_at_once_end_with_one_key(engine: Engine) -> None:
    one = PersonalDataKeys(MASTER, SqlKeyStore(engine), cache_seconds=0)
    other = PersonalDataKeys(MASTER, SqlKeyStore(engine), cache_seconds=0)
    # The other process inserted first: this one's insert loses and it uses theirs.
    sealed_there = other.seal(ADA, "first_name", "Ada")
    one.store.add(ADA, b"not-a-key")  # the losing insert is ignored

    assert one.open(ADA, "first_name", sealed_there) == "Ada"
    with engine.connect() as conn:
        assert conn.execute(select(pii_keys.c.subject_id)).scalars().all() == [ADA]


def test_keys_made_in_bulk_keep_a_key_made_first_elsewhere_and_an_erased_subjects_tombstone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(personal_data, "_INSERT_ROWS", 2)  # several multi-row inserts in one call
    one = PersonalDataKeys(MASTER, SqlKeyStore(engine), cache_seconds=60)
    other = PersonalDataKeys(MASTER, SqlKeyStore(engine), cache_seconds=0)
    erased, never_keyed = uuid4(), uuid4()
    sealed_there = other.seal(ADA, "first_name", "Ada")  # the other process made Ada's key first
    other.seal(erased, "first_name", "Eve")
    other.destroy(erased)
    other.destroy(never_keyed)  # a tombstone without a key ever made
    fresh = [uuid4() for _ in range(5)]

    one.ensure_keys([ADA, erased, never_keyed, *fresh])

    assert one.open(ADA, "first_name", sealed_there) == "Ada"
    for subject in (erased, never_keyed):
        with pytest.raises(SubjectErased):
            one.seal(subject, "first_name", "Eve")
    sealed_here = {s: one.seal(s, "first_name", s.hex) for s in fresh}
    assert {s: other.open(s, "first_name", v) for s, v in sealed_here.items()} == {s: s.hex for s in fresh}
    with engine.connect() as conn:
        rows = {r[0]: r[1] for r in conn.execute(select(pii_keys.c.subject_id, pii_keys.c.wrapped_key))}
    assert sorted(rows) == sorted([ADA, erased, never_keyed, *fresh])  # one row a subject
    assert rows[erased] is None and rows[never_keyed] is None


# --- the mapper: events and snapshots stored sealed, read opened or erased ------------------


class App(ChronicleApplication):
    def register_transcodings(self, transcoder: object) -> None:
        super().register_transcodings(transcoder)  # type: ignore[arg-type]
        register_account_transcodings(transcoder)  # type: ignore[arg-type]


def an_account() -> Account:
    return Account.register(
        account_id=ADA,
        email="Ada@Example.com",
        profile=Profile("Ada", "Lovelace", "+44", "7700900123", date(1815, 12, 10)),
        password_hash="argon2$x",
        now=NOW,
    )


def test_the_mapper_stores_personal_fields_sealed_and_reads_them_in_clear(keys: PersonalDataKeys) -> None:
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.metadata_mapper.personal = keys
    app.save(an_account())

    (stored,) = app.recorder.select_events(ADA)
    for clear in (b"Ada", b"Lovelace", b"7700900123", b"1815", b"example.com"):
        assert clear not in stored.state
    account = app.repository.get(ADA)
    assert (account.email, account.profile.last_name, account.profile.birthday) == (
        "Ada@Example.com",
        "Lovelace",
        date(1815, 12, 10),
    )
    assert app.metadata_mapper.decode_state(stored)["birthday"] == "1815-12-10"


def test_once_the_key_is_destroyed_the_mapper_reads_the_fields_as_erased_not_as_an_error(
    keys: PersonalDataKeys,
) -> None:
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.metadata_mapper.personal = keys
    app.save(an_account())

    keys.destroy(ADA)

    account = app.repository.get(ADA)
    assert (account.email, account.profile.first_name, account.profile.phone_number) == (ERASED, ERASED, ERASED)
    assert account.profile.birthday is None
    (stored,) = app.recorder.select_events(ADA)
    state = app.metadata_mapper.decode_state(stored)
    assert {state[f] for f in ("email", "first_name", "last_name", "phone_number", "birthday")} == {ERASED}
    assert state["roles"] == ["user"]  # what is not personal stays


def test_an_account_snapshot_is_stored_sealed_and_loads_erased_after_destroy(keys: PersonalDataKeys) -> None:
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "y"})
    app.metadata_mapper.personal = keys
    app.save(an_account())
    assert app.snapshots is not None
    app.take_snapshot(ADA)

    (snapshot,) = app.snapshots.recorder.select_events(ADA)
    assert b"Lovelace" not in snapshot.state and b"example.com" not in snapshot.state
    assert app.repository.get(ADA).profile.last_name == "Lovelace"

    keys.destroy(ADA)

    loaded = app.snapshots.get(ADA)
    (event,) = list(loaded)
    assert event.state["email"] == ERASED
    assert event.state["profile"].last_name == ERASED and event.state["profile"].birthday is None


def test_without_a_cipher_an_event_with_personal_fields_is_refused_not_stored_in_clear() -> None:
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})

    with pytest.raises(PersonalDataUnprotected):
        app.save(an_account())
    assert app.recorder.select_events(ADA) == []


class CountingStore(MemoryKeyStore):
    """A key store that counts the lookups it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.batches = 0

    def get(self, subject_id: UUID) -> tuple[bool, bytes | None]:
        self.gets += 1
        return super().get(subject_id)

    def get_many(self, subject_ids: Collection[UUID]) -> dict[UUID, tuple[bool, bytes | None]]:
        self.batches += 1
        return super().get_many(subject_ids)


def test_a_batch_prefetch_looks_its_subjects_keys_up_once_and_erased_ones_stay_erased() -> None:
    store = CountingStore()
    writer = PersonalDataKeys(MASTER, store)
    subjects = [uuid4() for _ in range(5)]
    sealed = {subject: writer.seal(subject, "email", f"{subject.hex}@example.com") for subject in subjects}
    writer.destroy(subjects[0])
    reader = PersonalDataKeys(MASTER, store, cache_seconds=60)
    store.gets = 0

    reader.prefetch(subjects)
    opened = {subject: reader.open(subject, "email", value) for subject, value in sealed.items()}

    assert (store.batches, store.gets) == (1, 0)  # one lookup for the five, none after it
    assert opened[subjects[0]] is None
    assert all(opened[s] == f"{s.hex}@example.com" for s in subjects[1:])


class BulkCountingStore(CountingStore):
    """Counts the inserts too: single and multi-row."""

    def __init__(self) -> None:
        super().__init__()
        self.adds = 0
        self.bulk_adds = 0

    def add(self, subject_id: UUID, wrapped: bytes) -> None:
        self.adds += 1
        super().add(subject_id, wrapped)

    def add_many(self, wrapped_keys: Mapping[UUID, bytes]) -> None:
        self.bulk_adds += 1
        super().add_many(wrapped_keys)


def test_ensuring_many_subjects_keys_takes_one_insert_and_one_lookup_and_their_seals_look_nothing_up() -> None:
    store = BulkCountingStore()
    keys = PersonalDataKeys(MASTER, store, cache_seconds=60)
    subjects = [uuid4() for _ in range(50)]

    keys.ensure_keys(subjects)
    sealed = {s: keys.seal(s, "email", f"{s.hex}@example.com") for s in subjects}

    assert (store.bulk_adds, store.batches, store.adds, store.gets) == (1, 1, 0, 0)
    reader = PersonalDataKeys(MASTER, store, cache_seconds=0)  # another process, from the store alone
    assert all(reader.open(s, "email", v) == f"{s.hex}@example.com" for s, v in sealed.items())


def test_ensuring_keys_already_cached_asks_the_store_nothing() -> None:
    store = BulkCountingStore()
    keys = PersonalDataKeys(MASTER, store, cache_seconds=60)
    subjects = [uuid4() for _ in range(5)]
    keys.ensure_keys(subjects)

    keys.ensure_keys(subjects)

    assert (store.bulk_adds, store.batches) == (1, 1)


def test_two_processes_ensuring_the_same_subjects_keys_end_with_one_key_each_and_both_use_it() -> None:
    store = MemoryKeyStore()
    one = PersonalDataKeys(MASTER, store, cache_seconds=60)
    other = PersonalDataKeys(MASTER, store, cache_seconds=60)
    subjects = [uuid4() for _ in range(10)]

    one.ensure_keys(subjects[:7])
    other.ensure_keys(subjects[3:])  # the overlap: one's keys were there first and are the ones kept

    for subject in subjects:
        assert other.open(subject, "email", one.seal(subject, "email", "a@example.com")) == "a@example.com"
        assert one.open(subject, "email", other.seal(subject, "email", "b@example.com")) == "b@example.com"


def test_ensuring_keys_never_brings_back_an_erased_subjects_key() -> None:
    store = MemoryKeyStore()
    writer = PersonalDataKeys(MASTER, store, cache_seconds=0)
    erased, never_keyed, alive = uuid4(), uuid4(), uuid4()
    sealed = writer.seal(erased, "email", "eve@example.com")
    writer.destroy(erased)
    writer.destroy(never_keyed)
    keys = PersonalDataKeys(MASTER, store, cache_seconds=60)

    keys.ensure_keys([erased, never_keyed, alive])

    assert keys.erased(erased) and keys.erased(never_keyed) and not keys.erased(alive)
    assert keys.open(erased, "email", sealed) is None
    for subject in (erased, never_keyed):
        with pytest.raises(SubjectErased):
            keys.seal(subject, "email", "eve@example.com")
    assert store.get(erased) == (True, None) and store.get(never_keyed) == (True, None)


def test_the_key_cache_keeps_the_newest_keys_up_to_its_bound_and_forgets_the_oldest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(personal_data, "_CACHE_MAX", 3)
    store = CountingStore()
    writer = PersonalDataKeys(MASTER, store)
    subjects = [uuid4() for _ in range(5)]
    sealed = {subject: writer.seal(subject, "email", f"{subject.hex}@example.com") for subject in subjects}
    reader = PersonalDataKeys(MASTER, store, cache_seconds=60)

    reader.prefetch(subjects[:2])
    reader.prefetch(subjects[2:])  # five subjects through a cache of three: the first two are forgotten
    store.gets = 0
    newest = [reader.open(s, "email", sealed[s]) for s in subjects[2:]]
    assert store.gets == 0
    oldest = [reader.open(s, "email", sealed[s]) for s in subjects[:2]]

    assert store.gets == 2  # looked up again, and still opened right
    assert newest + oldest == [f"{s.hex}@example.com" for s in subjects[2:] + subjects[:2]]


def test_prefetching_batch_after_batch_keeps_the_key_cache_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild prefetches every account's key once: the cache keeps at most its bound, so its memory stays flat."""
    monkeypatch.setattr(personal_data, "_CACHE_MAX", 10)
    store = MemoryKeyStore()
    writer = PersonalDataKeys(MASTER, store)
    subjects = [uuid4() for _ in range(60)]
    for subject in subjects:
        writer.seal(subject, "email", "a@example.com")
    reader = PersonalDataKeys(MASTER, store, cache_seconds=60)  # none is stale: only the bound forgets

    for start in range(0, len(subjects), 6):
        reader.prefetch(subjects[start : start + 6])

    assert len(reader._cache) == 10  # the bound, not the 60 prefetched


# --- a load opens personal values only when they are read --------------------------------------


class CountingKeys(PersonalDataKeys):
    """The cipher, counting the sealed values it opens (each an AES-GCM decryption)."""

    def __init__(self) -> None:
        super().__init__(MASTER, MemoryKeyStore(), cache_seconds=0)
        self.opened = 0

    def open(self, subject_id: UUID, path: str, sealed: str) -> str | date | None:
        self.opened += 1
        return super().open(subject_id, path, sealed)


def a_renamed_account(env: dict[str, str] | None = None) -> tuple[App, CountingKeys]:
    """Ada registered (six personal values) and renamed twice (five each): 16 sealed values in her stream."""
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo", **(env or {})})
    keys = CountingKeys()
    app.metadata_mapper.personal = keys
    account = an_account()
    for last_name in ("Byron", "King"):
        account.update_profile(profile=Profile("Ada", last_name, "+44", "7700900123", date(1815, 12, 10)), now=NOW)
    app.save(account)
    keys.opened = 0
    return app, keys


def test_a_load_that_reads_no_personal_field_opens_nothing() -> None:
    app, keys = a_renamed_account()

    account: Account = app.repository.get(ADA)
    account.ensure_usable()
    account.assign_role(role="admin", now=NOW)
    app.save(account)

    assert (account.version, account.roles) == (4, ["admin", "user"])
    assert keys.opened == 0


def test_reading_a_personal_attribute_opens_only_its_current_values_once_and_equals_the_eager_load() -> None:
    app, keys = a_renamed_account()
    eager = project_aggregate(None, app.events.get(ADA))  # the mapper's eager path: every value opened
    assert keys.opened == 16
    keys.opened = 0

    account: Account = app.repository.get(ADA)
    assert account.profile == Profile("Ada", "King", "+44", "7700900123", date(1815, 12, 10))
    assert keys.opened == 5  # the last update's five, not the earlier events' overwritten ones
    assert account.email == "Ada@Example.com" and account.email_key == "ada@example.com"
    assert keys.opened == 6
    assert account.profile.last_name == "King" and keys.opened == 6  # opened once
    assert account == eager and vars(account) == vars(eager)


def test_copies_of_a_lazily_loaded_aggregate_share_one_opening_and_an_assignment_replaces_a_kept_aside_value() -> None:
    app, keys = a_renamed_account()
    account: Account = app.repository.get(ADA)

    first, second = copy.deepcopy(account), copy.deepcopy(account)
    assert first.email == second.email == "Ada@Example.com"
    assert keys.opened == 1
    first.update_profile(profile=Profile("Augusta", "King"), now=NOW)
    assert first.profile.first_name == "Augusta" and keys.opened == 1  # assigned by the event, never opened
    assert second.profile.first_name == "Ada" and keys.opened == 6


def test_an_aggregate_whose_later_base_sets_attributes_its_own_way_is_refused_at_its_definition() -> None:
    class Tracing:
        def __setattr__(self, name: str, value: object) -> None:
            super().__setattr__(name, value)

    with pytest.raises(TypeError, match=r"Tracing\.__setattr__"):
        type("Traced", (DefersPersonalState, Tracing), {})
    with_property = type("WithProperty", (DefersPersonalState,), {"x": property(lambda s: 1, lambda s, v: None)})
    instance = with_property()
    instance.x = 2  # a property's setter still runs (object.__setattr__ honours descriptors)
    assert instance.x == 1 and "x" not in vars(instance)


def test_a_lazily_loaded_account_reads_erased_values_once_its_key_is_destroyed() -> None:
    app, keys = a_renamed_account()
    keys.destroy(ADA)

    account: Account = app.repository.get(ADA)

    assert account.email == ERASED
    assert (account.profile.first_name, account.profile.phone_number, account.profile.birthday) == (
        ERASED,
        ERASED,
        None,
    )


def test_a_sealed_value_that_does_not_open_fails_when_read_never_as_clear_or_sealed_text() -> None:
    app, keys = a_renamed_account()
    moved = keys.seal(ADA, "first_name", "Somebody")  # sealed for another field, copied into the last name
    (*_, last) = app.recorder.select_events(ADA)
    stored = last.state.decode()
    sealed_last_name = app.metadata_mapper.transcoder.decode(last.state)["last_name"]
    tampered = dataclasses.replace(last, state=stored.replace(sealed_last_name, moved).encode())

    mapper = app.metadata_mapper
    (*before, _) = app.recorder.select_events(ADA)
    account: Account = mutate_each(None, [mapper.to_domain_event_deferred(e) for e in (*before, tampered)])
    defer_personal_state(account)  # what a load does
    account.ensure_usable()  # deciding on what is not personal still works
    with pytest.raises(InvalidTag):
        account.profile  # noqa: B018 - the read is the test
    assert mapper.decode_state(tampered)["last_name"] == "[unreadable]"  # the auditor reads on


def test_a_snapshot_of_a_lazily_loaded_aggregate_is_sealed_for_the_snapshot_and_loads_the_same() -> None:
    app, keys = a_renamed_account({"IS_SNAPSHOTTING_ENABLED": "y"})
    account: Account = app.repository.get(ADA)
    assert keys.opened == 0

    stored = app.metadata_mapper.to_stored_event(Snapshot.take(account))
    for clear in (b"Ada", b"King", b"7700900123", b"1815", b"example.com"):
        assert clear not in stored.state
    assert app.snapshots is not None
    app.snapshots.recorder.insert_events([stored])

    via_snapshot = app.metadata_mapper.to_domain_event(stored)
    assert via_snapshot.state["email"] == "Ada@Example.com"
    assert via_snapshot.state["profile"] == Profile("Ada", "King", "+44", "7700900123", date(1815, 12, 10))
    assert app.repository.get(ADA) == project_aggregate(None, app.events.get(ADA))


def test_a_batch_asks_for_the_keys_of_the_events_that_hold_personal_values_only() -> None:
    # A work order's, a claim's, a role's event opens nothing: a batch of them asked for keys no stream has.
    app = App(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    store = CountingStore()
    app.metadata_mapper.personal = PersonalDataKeys(MASTER, store, cache_seconds=60)
    account = an_account()
    app.save(account)
    account.assign_role(role="admin", now=NOW)
    app.save(account, UniqueKey.claim(scope="test", key="k", owner_id=ADA, now=NOW))
    notifications = app.recorder.select_notifications(start=1, limit=10)
    personal = [n for n in notifications if n.topic.endswith("Account.Registered")]
    others = [n for n in notifications if n not in personal]
    app.metadata_mapper.personal = reader = PersonalDataKeys(MASTER, store, cache_seconds=60)
    store.batches = store.gets = 0

    app.metadata_mapper.prefetch_keys(others)
    app.metadata_mapper.prefetch_keys(notifications, wants=lambda topic: "Registered" not in topic)
    asked_for_none = store.batches
    app.metadata_mapper.prefetch_keys(notifications)
    app.metadata_mapper.decode_state(personal[0])

    assert len(personal) == 1 and len(others) == 2
    assert asked_for_none == 0
    assert (store.batches, store.gets) == (1, 0)  # the account's key, prefetched, opened its fields
    assert reader.erased(ADA) is False
