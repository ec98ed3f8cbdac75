"""One active worker per projection across real ``chronicle project`` processes, and failover on kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.work_orders.new_order import NewWorkOrder
from infrastructure.root import Chronicle
from infrastructure.shared.leases import active_workers
from infrastructure.work_orders.tables import work_order_timeline, work_orders, workshop_counters
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock, eventually
from tests.integration.conftest import context

ROOT = Path(__file__).parents[2]
NAMES = ("accounts", "mail", "inventory", "work_orders", "work_order_timeline", "workshop_dashboard")


@pytest.fixture
def workers(container: Chronicle, postgres_url: str, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two ``chronicle project`` processes on the test database (killed at the end, whatever happened)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "DATABASE_URL": postgres_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "PII_MASTER_KEY": TEST_PII_MASTER_KEY,
        "DATA_DIR": str(tmp_path / "data"),
        "PROJECTION_POLL_SECONDS": "0.2",
        "PROJECTION_STANDBY_SECONDS": "0.5",
    }
    started = []
    try:
        for n in range(2):
            log = (tmp_path / f"worker-{n}.log").open("wb")
            started.append(
                subprocess.Popen(  # noqa: S603
                    [str(ROOT / ".venv/bin/chronicle"), "project"], cwd=ROOT, env=env, stdout=log, stderr=log
                )
            )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def holders(container: Chronicle) -> dict[str, int | None]:
    with container.read_engine.connect() as conn:
        return {name: worker.pid for name, worker in active_workers(conn, NAMES).items()}


def create_orders(container: Chronicle, clock: Clock, prefix: str, count: int) -> None:
    for n in range(count):
        new = NewWorkOrder(f"{prefix}-{n}", "Client", "Job", "M-1", clock().date(), "normal")
        container.work_orders.create_work_order(context(clock), new)


def caught_up(container: Chronicle, name: str) -> bool:
    return container.stored_position(name) == container.head_position()


def test_given_two_workers_when_the_active_one_is_killed_then_the_other_takes_over_from_the_tracked_position(
    container: Chronicle, clock: Clock, workers: list[subprocess.Popen[bytes]]
) -> None:
    pids = {process.pid for process in workers}
    # Every projection has exactly one active worker, one of the two processes.
    held = eventually(lambda: (found := holders(container)) and len(found) == len(NAMES) and found, timeout=60)
    assert set(held.values()) <= pids
    create_orders(container, clock, "BEFORE", 20)
    eventually(lambda: caught_up(container, "work_orders") and caught_up(container, "workshop_dashboard"), timeout=30)
    states = {state.name: state for state in container.operations.projections()}
    active = holders(container)["work_orders"]
    assert states["work_orders"].active is not None and states["work_orders"].active.pid == active
    standby = (pids - {active}).pop()

    os.kill(active or 0, signal.SIGKILL)
    killed_at = time.monotonic()
    create_orders(container, clock, "AFTER", 20)

    # The other process gets the lock once the server has ended the killed one's session (it asks every 0.5 s).
    eventually(lambda: holders(container).get("work_orders") == standby, timeout=30)
    print(f"work_orders taken over {time.monotonic() - killed_at:.2f} s after kill -9")
    eventually(lambda: all(caught_up(container, name) for name in NAMES if name != "mail"), timeout=30)
    assert set(holders(container).values()) == {standby}
    with container.read_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(work_orders)).scalar_one() == 40
        # Counters are increments: an event applied twice would count an order twice.
        counted = conn.execute(
            select(workshop_counters.c.value).where(workshop_counters.c.name == "status:open")
        ).scalar_one()
        assert counted == 40
        assert conn.execute(select(func.count()).select_from(work_order_timeline)).scalar_one() == 40
