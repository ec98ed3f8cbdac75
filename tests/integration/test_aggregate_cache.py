"""The in-process aggregate cache never lets a command decide on state another process has moved past.

Each process keeps the aggregates it loaded (AGGREGATE_CACHE_SIZE); before a cached aggregate is
used, the events stored after its version are read and applied. These tests write through a second,
real process and check that the first one's next command sees what it wrote.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.shared.metadata import open_deferred
from domain.accounts.account import Account
from domain.accounts.errors import AccountClosed, RoleAlreadyAssigned
from domain.accounts.values import Profile
from domain.shared.errors import ConcurrencyConflict
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import PASSWORD, context, register

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]

# The second process: the same settings, its own Chronicle (its own cache), one command.
SECOND_PROCESS = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from uuid import UUID, uuid4
    from application.shared.commands import CommandContext
    from domain.accounts.values import Profile
    from pathlib import Path
    from infrastructure.root import Chronicle
    from tests.conftest import make_settings

    data, database_url, redis_url, command, account = sys.argv[1:6]
    settings = make_settings(
        Path(data), database_url, redis_url, run_projections_in_process=False, superadmin_email=None
    )
    chronicle = Chronicle(settings)
    chronicle.open()
    try:
        now = datetime.now(UTC)
        ctx = CommandContext(actor="second-process", correlation_id=str(uuid4()), causation_id="", now=now)
        account_id = UUID(account)
        if command == "rename":
            chronicle.accounts.update_profile(ctx, account_id, Profile("Grace", "Hopper"))
        else:
            chronicle.accounts.close_own_account(ctx, account_id, password=sys.argv[6])
    finally:
        chronicle.close()
    """
)


def in_second_process(container: Chronicle, *args: str) -> None:
    settings = container.settings
    where = [str(settings.data_dir.parent), str(settings.database_url), str(settings.redis_url)]
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SECOND_PROCESS, *where, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def cached_version(container: Chronicle, account_id: UUID) -> int:
    cache = container.accounts.repository.cache
    assert cache is not None
    aggregate: Account = cache.get(account_id)
    return aggregate.version


def test_given_a_cached_account_when_another_process_renames_it_then_the_next_load_has_the_new_name(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "cache-rename@example.com")
    container.accounts.update_profile(context(clock), account_id, Profile("Ada", "Byron"))
    loaded = container.accounts.load(account_id, Account)
    assert cached_version(container, account_id) == loaded.version  # cached here, at that version

    in_second_process(container, "rename", str(account_id))

    reloaded = container.accounts.load(account_id, Account)
    assert reloaded.version == loaded.version + 1
    assert (reloaded.profile.first_name, reloaded.profile.last_name) == ("Grace", "Hopper")
    # A command of this process now appends after the other's event, without a conflict.
    result = container.accounts.update_profile(context(clock), account_id, Profile("Ada", "Lovelace"))
    assert result.version == loaded.version + 2


def test_given_a_cached_account_when_another_process_closes_it_then_a_command_here_is_refused_as_closed(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "cache-close@example.com")
    container.accounts.update_profile(context(clock), account_id, Profile("Ada", "Byron"))
    container.accounts.load(account_id, Account)
    cached_version(container, account_id)  # cached (raises KeyError otherwise)

    in_second_process(container, "close", str(account_id), PASSWORD)

    # Decided on the stored state (closed), not the cached one: the domain refuses, nothing is written.
    with pytest.raises(AccountClosed):
        container.accounts.update_profile(context(clock), account_id, Profile("Ada", "Lovelace"))


def test_given_a_command_that_fails_after_changing_its_copy_then_the_cache_is_unchanged(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "cache-copy@example.com")
    before = container.accounts.load(account_id, Account)
    mutated = container.accounts.load(account_id, Account)
    mutated.update_profile(profile=Profile("Never", "Saved"), now=clock())  # a command's copy, never saved

    again = container.accounts.load(account_id, Account)
    assert again.version == before.version
    assert again.profile == before.profile


def test_given_streams_with_and_without_a_snapshot_then_the_one_trip_load_equals_the_library_load(
    container: Chronicle, clock: Clock
) -> None:
    from eventsourcing.application import Repository, project_aggregate

    app = container.accounts
    plain = register(container, clock, "load-plain@example.com")
    snapped = register(container, clock, "load-snapped@example.com")
    for n in range(6):
        for account_id in (plain, snapped):
            app.update_profile(context(clock), account_id, Profile("Ada", f"Take{n}"))
    app.take_snapshot(snapped, version=4)
    app.update_profile(context(clock), snapped, Profile("Ada", "After"))
    library = Repository(event_store=app.repository.event_store, snapshot_store=app.repository.snapshot_store)
    for account_id in (plain, snapped):
        ours = app.repository._reconstruct_aggregate(account_id, None, project_aggregate)
        theirs = library.get(account_id)
        assert vars(open_deferred(ours)) == vars(theirs)  # personal values opened as the library's load has them


def test_a_stream_enters_the_cache_at_its_second_miss_as_a_copy_the_command_never_holds(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "cache-admit@example.com")
    cache = container.accounts.repository.cache
    assert cache is not None
    container.accounts.repository.cache = cache = type(cache)(maxsize=10)  # empty: no earlier load counted
    container.accounts.repository._missed = type(cache)(maxsize=10)

    first = container.accounts.load(account_id, Account)  # a miss: the built aggregate, nothing cached
    with pytest.raises(KeyError):
        cache.get(account_id)
    second = container.accounts.load(account_id, Account)  # the second miss: a copy cached, this one handed out
    cached: Account = cache.get(account_id)
    assert cached is not second and cached is not first
    second.update_profile(profile=Profile("Never", "Saved"), now=clock())
    first.assign_role(role="admin", now=clock())

    assert (cached.version, cached.roles, cached.profile.first_name) == (first.version - 1, ["user"], "Ada")
    third = container.accounts.load(account_id, Account)  # a hit: fast-forwarded, a copy
    assert third is not cached and third.version == cached.version and third.roles == ["user"]


def test_given_a_cached_account_when_a_command_is_refused_or_loses_its_save_then_the_cache_holds_the_stored_state(
    container: Chronicle, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = container.accounts
    account_id = register(container, clock, "cache-race@example.com")
    app.load(account_id, Account)
    app.load(account_id, Account)
    stored_version = cached_version(container, account_id)

    # Refused by the domain after changing its copy: nothing saved, the cache as it was.
    with pytest.raises(RoleAlreadyAssigned):
        account = app.load(account_id, Account)
        account.update_profile(profile=Profile("Half", "Done"), now=clock())
        account.assign_role(role="user", now=clock())
    assert cached_version(container, account_id) == stored_version

    # Loses its save: another process writes between this command's load and its save.
    loads = app.load

    def load_then_race(*args: Any, **kwargs: Any) -> Any:
        loaded = loads(*args, **kwargs)
        in_second_process(container, "rename", str(account_id))
        return loaded

    monkeypatch.setattr(app, "load", load_then_race)
    with pytest.raises(ConcurrencyConflict):
        app.update_profile(context(clock), account_id, Profile("Lost", "Race"))
    monkeypatch.undo()

    assert cached_version(container, account_id) == stored_version  # not the lost save's version
    after = app.load(account_id, Account)
    assert after.version == stored_version + 1
    assert (after.profile.first_name, after.profile.last_name) == ("Grace", "Hopper")  # the winner's, not "Lost"
