"""The accounts read model keeps a count per status, so a list's total needs no count over the rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select

from infrastructure.accounts.tables import account_status_counts, accounts
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.test_rebuild import varied_history


def kept_counts(container: Chronicle) -> dict[str, int]:
    with container.read_engine.connect() as conn:
        rows = conn.execute(select(account_status_counts.c.status, account_status_counts.c.accounts))
        return {status: n for status, n in rows if n}


def counted_rows(container: Chronicle) -> dict[str, int]:
    with container.read_engine.connect() as conn:
        rows = conn.execute(select(accounts.c.status, func.count()).group_by(accounts.c.status))
        return {status: n for status, n in rows}


def assert_totals_match_the_rows(container: Chronicle) -> None:
    counted = counted_rows(container)
    assert kept_counts(container) == counted
    for status in (None, "active", "suspended", "closed", "pending_verification", "nosuch"):
        page = container.account_queries.search(limit=5, offset=0, sort="created_at", status=status)
        assert page.total == (sum(counted.values()) if status is None else counted.get(status, 0)), status


@pytest.mark.parametrize("batch_size", [1, 7, 2000])
def test_given_a_varied_history_when_projected_in_batches_of_any_size_then_the_kept_counts_match_the_rows(
    container: Chronicle, clock: Clock, batch_size: int
) -> None:
    varied_history(container, clock)
    runner = container.runners["accounts"]
    runner.batch_size = batch_size

    runner.catch_up()

    assert set(counted_rows(container)) == {"active", "suspended", "closed", "pending_verification"}
    assert_totals_match_the_rows(container)


def test_given_a_rebuild_then_the_kept_counts_start_again_from_zero_and_match_the_rows(
    container: Chronicle, clock: Clock
) -> None:
    varied_history(container, clock)
    runner = container.runners["accounts"]
    runner.catch_up()
    before = kept_counts(container)

    runner.reset()
    assert kept_counts(container) == {}
    runner.catch_up()

    assert kept_counts(container) == before
    assert_totals_match_the_rows(container)


def test_given_a_read_model_from_before_the_counts_when_chronicle_starts_then_it_counts_the_rows_once(
    make_container: Callable[..., Chronicle], clock: Clock
) -> None:
    first = make_container()
    varied_history(first, clock)
    first.runners["accounts"].catch_up()
    with first.write_engine.begin() as conn:
        conn.execute(delete(account_status_counts))

    restarted = make_container()
    restarted.start()

    assert_totals_match_the_rows(restarted)
