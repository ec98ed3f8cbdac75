"""Account snapshots on PostgreSQL: long streams load from a snapshot to the same state."""

from __future__ import annotations

from datetime import date

from eventsourcing.application import project_aggregate

from domain.accounts.values import Profile
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import context, register


def test_given_an_account_past_its_snapshot_interval_then_loading_it_equals_replaying_every_event(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "long@example.com")
    for n in range(60):
        clock.advance(seconds=1)
        profile = Profile("Ada", f"Lovelace {n}", "+44", "7700900123", date(1815, 12, 10))
        container.accounts.update_profile(context(clock), account_id, profile)

    snapshots = list(container.accounts.snapshots.get(account_id)) if container.accounts.snapshots else []
    loaded = container.accounts.repository.get(account_id)
    replayed = project_aggregate(None, container.accounts.events.get(account_id))

    assert [s.originator_version for s in snapshots] == [50]
    assert loaded == replayed
    assert loaded.profile.last_name == "Lovelace 59"
