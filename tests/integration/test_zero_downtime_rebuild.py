"""Zero-downtime rebuilds: shadow tables built beside the live ones, compared, swapped in one transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, text, update

from domain.work_orders.new_order import NewWorkOrder
from infrastructure.accounts.tables import accounts, sessions
from infrastructure.root import Chronicle
from infrastructure.shared.leases import Leases, active_workers
from infrastructure.shared.readstore import projection_versions
from infrastructure.shared.rebuild import RebuildRefused, RebuildRunning
from infrastructure.work_orders.tables import work_orders
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually, make_settings
from tests.integration.conftest import ContainerFactory, context, read_model_rows
from tests.integration.test_rebuild import varied_history
from tests.integration.test_work_order_rebuild import rows, workshop_history

pytestmark = pytest.mark.usefixtures("redis_url")
ROOT = Path(__file__).parents[2]


def new_order(clock: Clock, number: str) -> NewWorkOrder:
    return NewWorkOrder(number, "Client", "Job", "M-1", clock().date(), "normal")


def schemas(postgres_url: str) -> set[str]:
    with psycopg.connect(postgres_url) as conn:
        return {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'chronicle_%'")}


def indexes(postgres_url: str) -> set[tuple[str, str]]:
    with psycopg.connect(postgres_url) as conn:
        found = conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'").fetchall()
        return {(table, definition) for table, definition in found}


def test_given_live_workers_and_new_events_when_work_orders_are_rebuilt_then_the_swapped_model_is_a_full_replay(
    container: Chronicle, clock: Clock, postgres_url: str
) -> None:
    workshop_history(container, clock)
    before = indexes(postgres_url)
    names = ("work_orders", "work_order_timeline", "workshop_dashboard", "inventory")
    for name in names:
        container.runners[name].catch_up()
    live = container.runners["work_orders"]
    live.batch_size = 5  # the live worker moves in small steps while the rebuild runs
    stop = threading.Event()
    worker = threading.Thread(target=live.run, args=(stop,))
    worker.start()
    seen: list[tuple[int, int]] = []

    def progress(position: int, head: int) -> None:
        seen.append((position, head))
        if len(seen) == 1:  # events written while the shadow is being built are in the swapped model too
            for n in range(3):
                container.work_orders.create_work_order(context(clock), new_order(clock, f"LATE-{n}"))

    try:
        report = container.rebuilds.run("work_orders", progress=progress)
    finally:
        stop.set()
        live.wake.set()
        worker.join(10)

    assert report.swapped
    assert not report.differs, report.as_dict()
    assert {diff.table for diff in report.tables} == {"rm_work_orders", "rm_work_order_materials"}
    assert len(seen) > 2
    live.batch_size = 2000
    live.catch_up()
    assert container.stored_position("work_orders") == container.head_position()
    swapped = rows(container)
    assert len(swapped["rm_work_orders"]) == 6 + 3
    live.reset()
    live.catch_up()
    assert rows(container) == swapped
    assert not schemas(postgres_url)  # the shadow and the retired tables are gone
    after = indexes(postgres_url)
    assert before <= after  # every index came with the new tables, the trigram one too
    assert any("ix_rm_work_orders_client_trgm" in definition for _, definition in after)


def test_given_a_damaged_model_and_unchanged_code_when_rebuilt_then_it_is_refused_and_the_live_model_stays(
    container: Chronicle, clock: Clock, postgres_url: str
) -> None:
    varied_history(container, clock)
    container.runners["accounts"].catch_up()
    live = read_model_rows(container)
    with container.write_engine.begin() as conn:
        conn.execute(delete(sessions))
    damaged = read_model_rows(container)

    with pytest.raises(RebuildRefused) as refused:
        container.rebuilds.run("accounts")

    report = refused.value.report
    assert not report.swapped and not report.code_changed
    by_table = {diff.table: diff for diff in report.tables}
    assert by_table["rm_sessions"].live_rows == 0
    assert by_table["rm_sessions"].new_rows == 2
    assert by_table["rm_accounts"].same
    assert read_model_rows(container) == damaged
    assert not schemas(postgres_url)

    forced = container.rebuilds.run("accounts", force=True)

    assert forced.swapped and forced.forced
    assert read_model_rows(container) == live


def test_given_changed_projection_code_when_rebuilt_then_differing_rows_are_swapped_without_force(
    container: Chronicle, clock: Clock
) -> None:
    varied_history(container, clock)
    container.runners["accounts"].catch_up()
    live = read_model_rows(container)
    with container.write_engine.begin() as conn:
        conn.execute(update(accounts).values(status="as-the-old-code-wrote-it"))
        conn.execute(update(projection_versions).values(fingerprint="built-by-an-older-version"))

    report = container.rebuilds.run("accounts")

    assert report.swapped and report.code_changed and report.differs
    assert read_model_rows(container) == live
    with container.read_engine.connect() as conn:
        fingerprint = conn.execute(text("SELECT fingerprint FROM projection_versions WHERE name = 'accounts'")).scalar()
    assert fingerprint == container.runners["accounts"].follower.fingerprint


def test_given_a_rebuild_running_in_another_process_when_one_more_starts_then_it_is_refused(
    make_container: ContainerFactory,
) -> None:
    first, second = make_container(), make_container()
    exclusive = first.rebuilds._exclusive

    with exclusive("accounts"):
        with pytest.raises(RebuildRunning):
            second.rebuilds.run("accounts")
        with pytest.raises(RebuildRunning):
            second.rebuilds.start("accounts")
        second.rebuilds.run("inventory")  # another projection is not held

    assert second.rebuilds.run("accounts").swapped


def test_given_the_embedded_store_when_a_damaged_model_is_rebuilt_then_it_refuses_unless_forced(
    tmp_path: Path, clock: Clock, redis_url: str
) -> None:
    container = Chronicle(
        make_settings(tmp_path, None, redis_url, run_projections_in_process=False, superadmin_email=None),
        clock=clock,
    )
    container.open()
    try:
        varied_history(container, clock)
        container.runners["accounts"].catch_up()
        live = read_model_rows(container)
        with container.write_engine.begin() as conn:
            conn.execute(delete(sessions))
        damaged = read_model_rows(container)

        with pytest.raises(RebuildRefused):
            container.rebuilds.run("accounts")
        assert read_model_rows(container) == damaged
        report = container.rebuilds.run("accounts", force=True)

        assert report.swapped
        assert read_model_rows(container) == live
        assert container.stored_position("accounts") == container.head_position()
        assert not list(tmp_path.glob("data/*.rebuild-*"))  # the attached shadow file is gone
    finally:
        container.close()


def test_given_two_lease_holders_when_the_first_closes_then_the_second_takes_the_projection(
    container: Chronicle, postgres_url: str
) -> None:
    conninfo = container.settings.postgres_conninfo()
    first, second = Leases(conninfo), Leases(conninfo)
    try:
        assert first.holds("work_orders")
        assert first.holds("work_orders")  # held: asked again, still held
        assert not second.holds("work_orders")
        assert second.holds("inventory")
        with container.read_engine.connect() as conn:
            workers: dict[str, Any] = active_workers(conn, ["work_orders", "inventory", "accounts"])
        assert set(workers) == {"work_orders", "inventory"}
        assert workers["work_orders"].pid == os.getpid()

        first.close()  # the server ends the session (and its locks) a moment later

        assert eventually(lambda: second.holds("work_orders"), timeout=10)
    finally:
        first.close()
        second.close()


def test_given_a_rebuild_when_queries_run_during_it_then_the_live_table_is_never_empty(
    container: Chronicle, clock: Clock
) -> None:
    orders = [(n + 2, new_order(clock, f"BULK-{n}")) for n in range(300)]
    container.work_orders.import_work_orders(context(clock), orders)
    container.runners["work_orders"].catch_up()
    container.rebuilds.runner("work_orders").batch_size = 20
    counts: list[int] = []
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            with container.read_engine.connect() as conn:
                counts.append(conn.execute(text(f"SELECT count(*) FROM {work_orders.name}")).scalar_one())  # noqa: S608

    reader = threading.Thread(target=query)
    reader.start()
    try:
        report = container.rebuilds.run("work_orders")
    finally:
        stop.set()
        reader.join(10)

    assert report.swapped and not report.differs
    assert counts and min(counts) == 300


def test_given_a_cli_rebuild_killed_midway_when_status_is_read_then_it_is_interrupted_and_the_live_model_stayed(
    container: Chronicle, clock: Clock, postgres_url: str, tmp_path: Path
) -> None:
    orders = [(n + 2, new_order(clock, f"BULK-{n}")) for n in range(3000)]
    container.work_orders.import_work_orders(context(clock), orders)
    container.runners["work_orders"].catch_up()
    live = rows(container)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "DATABASE_URL": postgres_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "PII_MASTER_KEY": TEST_PII_MASTER_KEY,
        "DATA_DIR": str(tmp_path / "cli"),
        "PROJECTION_BATCH_SIZE": "10",  # a slow rebuild, to be killed in the middle
    }
    command = [str(ROOT / ".venv/bin/chronicle"), "projections", "rebuild", "work_orders"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:

        def midway() -> bool:
            job = {state.name: state for state in container.operations.projections()}["work_orders"].rebuild
            return job is not None and job.state == "running" and job.position > 0

        eventually(midway, timeout=60)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(10)

    job = eventually(
        lambda: (
            (found := {s.name: s for s in container.operations.projections()}["work_orders"].rebuild)
            and found.state == "interrupted"
            and found
        ),
        timeout=15,
    )
    assert 0 < job.position < container.head_position()
    assert rows(container) == live
    assert "chronicle_rebuild_work_orders" in schemas(postgres_url)  # half-built, left behind

    report = container.rebuilds.run("work_orders")

    assert report.swapped and not report.differs
    assert rows(container) == live
    assert not schemas(postgres_url)


def test_given_a_workshop_history_when_every_read_model_is_rebuilt_then_none_differs_from_its_live_model(
    container: Chronicle, clock: Clock
) -> None:
    workshop_history(container, clock)
    varied_history(container, clock)
    rebuildable = container.rebuilds.rebuildable()
    # Every read model of every context (those added later too), the audit index included.
    assert {"accounts", "inventory", "work_orders", "work_order_timeline", "workshop_dashboard", "audit_index"} <= set(
        rebuildable
    )
    for name in rebuildable:
        container.runners[name].batch_size = 3  # live in small batches, rebuilt in one
        container.runners[name].catch_up()
        container.runners[name].batch_size = 2000
    live = rows(container)

    reports = {name: container.rebuilds.run(name) for name in rebuildable}

    assert {name: report.differing for name, report in reports.items()} == {name: [] for name in rebuildable}
    assert rows(container) == live


def test_given_a_query_holding_the_live_table_when_the_swap_waits_past_its_timeout_then_it_fails_and_the_model_stays(
    make_container: ContainerFactory, clock: Clock, postgres_url: str
) -> None:
    container = make_container(rebuild_lock_timeout_seconds=1)
    varied_history(container, clock)
    container.runners["accounts"].catch_up()
    live = read_model_rows(container)

    with psycopg.connect(postgres_url) as reader:  # a long report: its transaction holds rm_accounts
        reader.execute("SELECT count(*) FROM rm_accounts").fetchone()
        with pytest.raises(Exception) as failed:
            container.rebuilds.run("accounts")
        reader.rollback()

    assert isinstance(failed.value.__cause__ or failed.value, psycopg.errors.LockNotAvailable)
    job = {state.name: state for state in container.operations.projections()}["accounts"].rebuild
    assert job is not None and job.state == "failed"
    assert job.error == "the rebuild failed (OperationalError)"
    assert read_model_rows(container) == live
    assert not schemas(postgres_url)
    assert container.rebuilds.run("accounts").swapped  # once the query is over
