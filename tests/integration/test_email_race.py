"""Registering one address from many threads at once: the email claim (a UniqueKey) lets exactly one through."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from application.shared.commands import CommandResult
from domain.accounts.errors import EmailTaken
from domain.accounts.values import Profile
from infrastructure.accounts.tables import accounts
from infrastructure.root import Chronicle
from tests.conftest import Clock
from tests.integration.conftest import PASSWORD, context

RACERS = 20


def _spellings(count: int) -> list[str]:
    """``count`` distinct letter-case spellings of one address."""
    local, domain = "race", "example.com"
    spellings = []
    for n in range(count):
        cased = "".join(c.upper() if (n >> (i % 5)) & 1 else c for i, c in enumerate(local + "@" + domain))
        spellings.append(cased if n % 2 == 0 else f" {cased} ")
    return spellings


def test_given_twenty_case_variants_of_one_email_when_registered_at_once_then_exactly_one_account_exists(
    container: Chronicle, clock: Clock
) -> None:
    emails = _spellings(RACERS)
    assert len(set(emails)) == RACERS
    barrier = threading.Barrier(RACERS)

    def attempt(email: str) -> CommandResult | Exception:
        barrier.wait(timeout=30)
        try:
            return container.accounts.register_account(
                context(clock), email=email, password=PASSWORD, profile=Profile(first_name="Race", last_name="Car")
            )
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(attempt, emails))

    winners = [o for o in outcomes if isinstance(o, CommandResult)]
    losers = [o for o in outcomes if not isinstance(o, CommandResult)]
    assert len(winners) == 1, outcomes
    assert len(losers) == RACERS - 1
    assert all(isinstance(o, EmailTaken) for o in losers), [type(o).__name__ for o in losers]

    notifications = container.accounts.recorder.select_notifications(start=1, limit=1000)
    registered = [n for n in notifications if n.topic.endswith("Account.Registered")]
    assert len(registered) == 1
    assert registered[0].originator_id == winners[0].id

    container.runners["accounts"].catch_up()
    with container.read_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 1
        row = conn.execute(select(accounts.c.id, accounts.c.email_key)).one()
    assert row.id == winners[0].id
    assert row.email_key == "race@example.com"


def test_given_an_erased_address_when_ten_register_it_again_at_once_then_exactly_one_takes_its_released_claim(
    container: Chronicle, clock: Clock
) -> None:
    first = container.accounts.register_account(
        context(clock), email="race@example.com", password=PASSWORD, profile=Profile("Race", "Car")
    )
    container.accounts.erase_account(context(clock), first.id)
    racers = 10
    barrier = threading.Barrier(racers)

    def attempt(email: str) -> CommandResult | Exception:
        barrier.wait(timeout=30)
        try:
            return container.accounts.register_account(
                context(clock), email=email, password=PASSWORD, profile=Profile(first_name="Race", last_name="Again")
            )
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = list(pool.map(attempt, _spellings(racers)))

    winners = [o for o in outcomes if isinstance(o, CommandResult)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, EmailTaken) for o in outcomes if o not in winners), outcomes
    assert container.accounts.account_id_for("RACE@example.com") == winners[0].id
    reclaimed = [
        n
        for n in container.accounts.recorder.select_notifications(start=1, limit=1000)
        if "UniqueKey.Reclaimed" in n.topic
    ]
    assert len(reclaimed) == 1
