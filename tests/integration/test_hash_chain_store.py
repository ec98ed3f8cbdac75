"""The hash chain as the PostgreSQL recorder keeps it: group commits, large saves, conflicts, the one-time backfill."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import DatabaseError, IntegrityError, StoredEvent

from domain.accounts.values import Profile
from domain.shared.errors import CheckpointsUnavailable
from infrastructure.root import Chronicle
from infrastructure.shared.chain import MISSING_LINK
from infrastructure.shared.chain_log import ChainLog, Checkpoints
from infrastructure.shared.event_store import ChronicleRecorder
from tests.conftest import Clock
from tests.integration.conftest import ContainerFactory, context, register

TOPIC = "tests.chain:Probe.Happened"


def chain_of(container: Chronicle) -> ChainLog:
    return ChainLog(container.log.recorder, page_size=7)  # small pages: the paging is crossed many times


def events(count: int, version: int = 1) -> list[StoredEvent]:
    return [StoredEvent(uuid4(), version, TOPIC, f'{{"n": {n}}}'.encode()) for n in range(count)]


def test_concurrent_commands_committed_in_groups_keep_one_unbroken_chain(container: Chronicle, clock: Clock) -> None:
    ids = [register(container, clock, f"group-{n}@example.com") for n in range(8)]
    start = threading.Barrier(len(ids))

    def writer(account_id: object) -> None:
        start.wait()
        for n in range(5):
            container.accounts.update_profile(context(clock), account_id, Profile("Ada", f"G{n}"))  # type: ignore[arg-type]

    with ThreadPoolExecutor(len(ids)) as pool:
        list(pool.map(writer, ids))

    verdict = chain_of(container).verify()
    assert verdict.ok, verdict
    assert verdict.checked == container.head_position() > 8 * 6


def test_a_conflicting_save_in_a_group_fails_alone_and_the_chain_skips_its_burnt_positions(
    container: Chronicle,
) -> None:
    recorder = container.log.recorder
    taken = events(1)
    recorder.insert_events(taken)
    with pytest.raises(IntegrityError):
        recorder.insert_events([*events(3), taken[0]])  # rolled back whole: its positions are never used
    positions = recorder.insert_events(events(2))
    assert positions is not None and positions[0] > 2  # a gap, as before the chain
    verdict = chain_of(container).verify()
    assert verdict.ok and verdict.checked == 3, verdict


def test_a_save_larger_than_one_call_is_chained_across_its_chunks(container: Chronicle) -> None:
    recorder = container.log.recorder
    assert isinstance(recorder, ChronicleRecorder)
    positions = list(recorder.insert_events(events(recorder.CHUNK * 2 + 17)) or [])
    assert positions == list(range(1, recorder.CHUNK * 2 + 18))
    verdict = chain_of(container).verify()
    assert verdict.ok and verdict.checked == len(positions), verdict


def test_the_append_refuses_to_extend_a_chain_whose_head_lost_its_link(container: Chronicle, postgres_url: str) -> None:
    recorder = container.log.recorder
    recorder.insert_events(events(2))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE chronicle_events SET chain = NULL WHERE notification_id = 2")
    with pytest.raises(DatabaseError):
        recorder.insert_events(events(1))
    verdict = chain_of(container).verify()
    assert not verdict.ok and verdict.bad_position == 2 and verdict.problem == MISSING_LINK


def test_a_log_written_before_the_chain_is_chained_once_at_start_and_never_again(
    make_container: ContainerFactory, postgres_url: str, clock: Clock
) -> None:
    first = make_container()
    for n in range(4):
        register(first, clock, f"old-{n}@example.com")
    first.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as the code before this change left it
        conn.execute("DROP TABLE chronicle_events_chain_backfill")
        conn.execute("ALTER TABLE chronicle_events DROP COLUMN chain")
        stored = conn.execute("SELECT count(*) FROM chronicle_events").fetchone()
    assert stored is not None and stored[0] > 4

    upgraded = make_container()
    verdict = chain_of(upgraded).verify()
    assert verdict.ok and verdict.checked == stored[0], verdict
    register(upgraded, clock, "new@example.com")
    assert chain_of(upgraded).verify().ok
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        backfill = conn.execute("SELECT chained_rows, head_position FROM chronicle_events_chain_backfill").fetchall()
        assert backfill == [(stored[0], stored[0])]
        # Later, a row loses its link (or one is inserted without): a restart must not bless it.
        conn.execute("UPDATE chronicle_events SET chain = NULL WHERE notification_id = 3")
    upgraded.close()
    again = make_container()
    verdict = chain_of(again).verify()
    assert not verdict.ok and verdict.bad_position == 3 and verdict.problem == MISSING_LINK


def test_a_server_without_a_signing_key_signs_no_checkpoints_but_verifies(container: Chronicle) -> None:
    register(container, Clock(), "unsigned@example.com")
    checkpoints: Checkpoints = container.services[Checkpoints]
    with pytest.raises(CheckpointsUnavailable):
        checkpoints.take()
    with pytest.raises(CheckpointsUnavailable):
        checkpoints.public_key_pem()
    assert checkpoints.verify().ok


def test_a_connection_that_appended_first_to_a_tiny_log_reads_the_chain_head_by_index_once_the_log_grew(
    container: Chronicle,
) -> None:
    """The append function's head read is planned once per connection; planned on a log of a few rows it
    must not stay a sequential scan of the whole log (bench/analysis.md, recorder-append)."""
    recorder = container.log.recorder
    assert isinstance(recorder, ChronicleRecorder)
    url = str(container.settings.database_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as early, psycopg.connect(url, autocommit=True) as admin:
        admin.execute("ANALYZE chronicle_events")  # the statistics of a tiny log, as autovacuum takes them early on
        first = events(1)[0]
        early.execute(recorder.append_one_statement, (first.originator_id, 1, TOPIC, first.state))  # planned now
        # The log grows (scratch rows with a link each, written straight into the table).
        admin.execute(
            "INSERT INTO chronicle_events (originator_id, originator_version, topic, state, chain) "
            "SELECT gen_random_uuid(), 1, %s, '{}'::bytea, decode(repeat('00', 32), 'hex') "
            "FROM generate_series(1, 20000)",
            (TOPIC,),
        )
        # No ANALYZE now: a new one would make every connection plan anew (autovacuum takes a while to).
        with early.transaction(force_rollback=True):
            later = events(1)[0]
            early.execute(recorder.append_one_statement, (later.originator_id, 1, TOPIC, later.state))
            row = early.execute(
                "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'chronicle_events'"
            ).fetchone()
    assert row is not None and row[0] == 0  # the head was read through the index, not by scanning the log
