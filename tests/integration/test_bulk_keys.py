"""Personal-data keys made in bulk (``ensure_keys``) on PostgreSQL: two processes racing to make the same
subjects' keys end with one key a subject, which both use, and an erased subject's tombstone survives the race."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from infrastructure.shared.personal_data import PersonalDataKeys, SqlKeyStore, SubjectErased, pii_keys

MASTER = "an-integration-test-pii-master-key-0123"
SUBJECTS = 3000  # several multi-row inserts a call, overlapping between the two processes


@pytest.fixture
def engines(postgres_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on the integration database: two processes' connection pools."""
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://")
    one, other = create_engine(url, pool_size=1), create_engine(url, pool_size=1)
    SqlKeyStore(one)  # the table, if missing
    with one.begin() as conn:
        conn.execute(text("TRUNCATE pii_keys"))
    try:
        yield one, other
    finally:
        one.dispose()
        other.dispose()


def race(*calls: tuple[PersonalDataKeys, list[UUID]]) -> None:
    """Each ``ensure_keys`` call on a thread of its own, released at once; re-raises what any of them raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(keys: PersonalDataKeys, subjects: list[UUID]) -> None:
        try:
            barrier.wait()
            keys.ensure_keys(subjects)
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_two_processes_making_the_same_subjects_keys_at_once_end_with_one_key_each_that_both_use(
    engines: tuple[Engine, Engine],
) -> None:
    one = PersonalDataKeys(MASTER, SqlKeyStore(engines[0]), cache_seconds=60)
    other = PersonalDataKeys(MASTER, SqlKeyStore(engines[1]), cache_seconds=60)
    subjects = [uuid4() for _ in range(SUBJECTS)]

    # Overlapping, asked for in opposite orders: neither waits on the other in a cycle (no deadlock).
    race((one, subjects[: SUBJECTS * 2 // 3]), (other, list(reversed(subjects[SUBJECTS // 3 :]))))

    with engines[0].connect() as conn:
        assert conn.execute(select(func.count()).select_from(pii_keys)).scalar_one() == SUBJECTS
    for subject in subjects[SUBJECTS // 3 : SUBJECTS * 2 // 3]:  # the overlap: both use the one key kept
        assert other.open(subject, "email", one.seal(subject, "email", "a@example.com")) == "a@example.com"
        assert one.open(subject, "email", other.seal(subject, "email", "b@example.com")) == "b@example.com"


def test_a_subject_erased_while_others_make_keys_in_bulk_stays_erased(engines: tuple[Engine, Engine]) -> None:
    one = PersonalDataKeys(MASTER, SqlKeyStore(engines[0]), cache_seconds=60)
    other = PersonalDataKeys(MASTER, SqlKeyStore(engines[1]), cache_seconds=60)
    eraser = PersonalDataKeys(MASTER, SqlKeyStore(engines[0]), cache_seconds=0)
    subjects = [uuid4() for _ in range(SUBJECTS)]
    erased = subjects[::100]
    for subject in erased:
        eraser.destroy(subject)  # tombstones, no key ever made

    race((one, subjects), (other, list(reversed(subjects))))

    with engines[0].connect() as conn:
        tombstones = set(conn.execute(select(pii_keys.c.subject_id).where(pii_keys.c.wrapped_key.is_(None))).scalars())
    assert tombstones == set(erased)
    for keys in (one, other, PersonalDataKeys(MASTER, SqlKeyStore(engines[1]), cache_seconds=0)):
        assert all(keys.erased(subject) for subject in erased)
        with pytest.raises(SubjectErased):
            keys.seal(erased[0], "email", "eve@example.com")
