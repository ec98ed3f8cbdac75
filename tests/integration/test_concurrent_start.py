"""Processes that start at the same moment (API workers, the projector, the CLI) create the schema in turn:
without the schema lock, two CREATE OR REPLACE FUNCTION at once fail with "tuple concurrently updated"."""

from __future__ import annotations

import threading
from pathlib import Path

from infrastructure.root import Chronicle
from tests.conftest import make_settings
from tests.integration.conftest import wipe_database

STARTERS = 4
ROUNDS = 3


def test_stores_opened_at_the_same_moment_all_open(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    wipe_database(postgres_url)
    errors: list[BaseException] = []
    for round_ in range(ROUNDS):
        barrier = threading.Barrier(STARTERS)

        def start(index: int, round_: int = round_, barrier: threading.Barrier = barrier) -> None:
            settings = make_settings(tmp_path / f"{round_}-{index}", postgres_url, redis_url, postgres_pool_size=1)
            chronicle = Chronicle(settings)
            barrier.wait(timeout=60)
            try:
                chronicle.open()
            except BaseException as error:  # every starter's failure is the finding
                errors.append(error)
            finally:
                chronicle.close()

        threads = [threading.Thread(target=start, args=(i,)) for i in range(STARTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
