"""On PostgreSQL a load of a stream brings its subject's personal-data key row along (one round trip for both):
the command that seals a field next makes no key lookup of its own, and an erasure made elsewhere still reads
as erased here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.accounts.values import Profile
from domain.shared.personal_data import PersonalDataErased
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register


def count_lookups(container: Chronicle, monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """The subjects whose key the key store is asked for, one entry per lookup."""
    store = container._opened.platform.personal.store
    asked: list[UUID] = []
    get, get_many = store.get, store.get_many

    def counted_get(subject_id: UUID) -> Any:
        asked.append(subject_id)
        return get(subject_id)

    def counted_get_many(subject_ids: Any) -> Any:
        asked.extend(subject_ids)
        return get_many(subject_ids)

    monkeypatch.setattr(store, "get", counted_get)
    monkeypatch.setattr(store, "get_many", counted_get_many)
    return asked


def test_a_command_that_seals_a_field_after_its_load_asks_the_key_store_nothing(
    make_container: ContainerFactory, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_container()
    account_id = register(writer, clock, "keyed@example.com")
    other = make_container()  # another process: nothing of this account in its key cache
    asked = count_lookups(other, monkeypatch)

    other.accounts.update_profile(context(clock), account_id, Profile(first_name="Grace", last_name="Hopper"))

    assert asked == []
    account = other.accounts.repository.get(account_id)
    assert account.profile == Profile(first_name="Grace", last_name="Hopper")
    assert asked == []


def test_an_account_erased_by_another_process_loads_as_erased_and_seals_nothing(
    make_container: ContainerFactory, clock: Clock
) -> None:
    here = make_container()
    elsewhere = make_container()
    account_id = register(here, clock, "erased-elsewhere@example.com")
    here.accounts.repository.get(account_id)  # this process has the key cached (for its cache_seconds)
    elsewhere.accounts.erase_account(context(clock), account_id)

    reader = make_container()  # a third process loads after the erasure: the key row it reads is a tombstone
    account = reader.accounts.repository.get(account_id)

    assert account.email is None or str(account.email) == "[erased]"
    with pytest.raises(PersonalDataErased):
        reader._opened.platform.personal.seal(account_id, "profile.first_name", "Ada")
