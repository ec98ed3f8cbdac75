"""Optimistic concurrency on PostgreSQL: a lost write race and a stale If-Match are both refused."""

from __future__ import annotations

import pytest

from domain.shared.errors import ConcurrencyConflict, VersionMismatch
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import context, register


def test_given_two_copies_of_one_account_when_both_are_saved_then_the_second_save_is_a_concurrency_conflict(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "lost-race@example.com")
    first = container.accounts.repository.get(account_id)
    second = container.accounts.repository.get(account_id)
    assert first.version == second.version

    first.assign_role(role="manager", now=clock())
    second.assign_role(role="auditor", now=clock())
    won = container.accounts.record(context(clock), first)
    with pytest.raises(ConcurrencyConflict):
        container.accounts.record(context(clock), second)

    stored = container.accounts.repository.get(account_id)
    assert stored.version == won.version == first.version
    assert "manager" in stored.roles
    assert "auditor" not in stored.roles
    topics = [n.topic for n in container.accounts.recorder.select_notifications(start=1, limit=1000)]
    assert sum(topic.endswith("Account.RoleAssigned") for topic in topics) == 1


def test_given_a_stale_expected_version_when_assigning_a_role_then_it_is_a_version_mismatch_and_nothing_is_written(
    container: Chronicle, clock: Clock
) -> None:
    account_id = register(container, clock, "stale@example.com")
    stale = container.accounts.repository.get(account_id).version
    container.accounts.assign_role(context(clock), account_id, "manager", expected_version=stale)
    head = container.head_position()

    with pytest.raises(VersionMismatch) as refused:
        container.accounts.assign_role(context(clock), account_id, "auditor", expected_version=stale)

    assert refused.value.expected == stale
    assert refused.value.actual == stale + 1
    assert container.head_position() == head
    assert "auditor" not in container.accounts.repository.get(account_id).roles
