"""Every context appends to the one ``chronicle`` log (application/base.py: ``name = "Chronicle"``)."""

from __future__ import annotations

import psycopg

from infrastructure.container import Container
from tests.conftest import Clock
from tests.integration.conftest import register


def test_given_a_registration_on_postgres_then_its_events_are_in_the_shared_chronicle_events_table(
    container: Container, clock: Clock, postgres_url: str
) -> None:
    account_id = register(container, clock, "shared-log@example.com")

    with psycopg.connect(postgres_url) as conn:
        table = conn.execute("SELECT to_regclass('public.chronicle_events')").fetchone()[0]
        assert table is not None, (
            f"events went to {container.accounts.recorder.events_table_name!r}, not the shared 'chronicle_events' log"
        )
        stored = conn.execute(
            "SELECT count(*) FROM chronicle_events WHERE originator_id = %s", (account_id,)
        ).fetchone()[0]
    assert stored == 2  # Registered + EmailVerificationRequested
