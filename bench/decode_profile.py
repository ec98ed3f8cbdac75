"""CPU per event of a projection catch-up's decode path, part by part (a development tool, not a scenario).

``python -m bench.decode_profile --database-url postgresql://.../scratch [--events N] [--rounds R]``

Drops Chronicle's tables in the scratch database and writes the catch-up scenario's backlog (``N``
events, five an account, COPY), then prints the process CPU time (``time.process_time``, little moved by
other work, unlike wall figures; the load average is printed beside it) of:
- ``PersonalDataKeys.open`` of one sealed value (timeit, best of 5);
- over the backlog's notifications, read once and held in memory: the library's mapper alone (JSON and
  transcodings), the batch key lookup (``prefetch_keys`` with an empty key cache, a batch of 500 events
  at a time), and ``to_event_and_metadata`` (every personal value opened) with each batch's keys
  prefetched outside the clock; the minimum of ``R`` rounds;
- ``runner.catch_up()`` of the accounts projection into new, empty tables, including its read-ahead
  thread's CPU.
To compare two versions, run it from each checkout in turn (``PYTHONPATH`` set to that checkout).
"""

from __future__ import annotations

import argparse
import os
import time
import timeit
from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from bench.backlog import load_backlog
from bench.core import scratch_container
from bench.scenarios.projection import fresh_read_model
from infrastructure.root import Chronicle
from infrastructure.shared.personal_data import PersonalDataKeys

BATCH = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    container = scratch_container(args.database_url)
    try:
        load_backlog(container.accounts, args.database_url, args.events)
        measure(container, args.rounds)
    finally:
        container.close()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def measure(container: Chronicle, rounds: int) -> None:
    mapper = container.log.metadata_mapper
    keys = mapper.personal
    assert isinstance(keys, PersonalDataKeys)
    subject = UUID(int=7)
    sealed = keys.seal(subject, "first_name", "Ada")
    number = 100_000
    best = min(
        timeit.repeat(
            lambda: keys.open(subject, "first_name", sealed), number=number, repeat=5, timer=time.process_time
        )
    )
    print(f"PersonalDataKeys.open: {best / number * 1e6:.2f} µs a value")

    notifications: list[Notification] = []
    recorder = container.log.recorder
    while batch := recorder.select_notifications(start=notifications[-1].id + 1 if notifications else 1, limit=BATCH):
        notifications.extend(batch)
    batches = [notifications[i : i + BATCH] for i in range(0, len(notifications), BATCH)]

    def library() -> float:
        began = time.process_time()
        for notification in notifications:
            Mapper.to_domain_event(mapper, notification)
        return time.process_time() - began

    def prefetch() -> float:
        keys._cache.clear()
        began = time.process_time()
        for each in batches:
            mapper.prefetch_keys(each)
        return time.process_time() - began

    def decode() -> float:
        spent = 0.0
        for each in batches:
            mapper.prefetch_keys(each)
            began = time.process_time()
            for notification in each:
                mapper.to_event_and_metadata(notification)
            spent += time.process_time() - began
        return spent

    for name, part in (("library mapper", library), ("batch key lookup", prefetch), ("to_event_and_metadata", decode)):
        report(name, part, notifications, rounds)

    runner = container.runners["accounts"]
    fresh_read_model(container)
    keys._cache.clear()
    began = time.process_time()
    folded = runner.catch_up()
    print(f"catch-up: {(time.process_time() - began) / folded * 1e6:.1f} µs an event ({folded:,} events)")


def report(name: str, part: Callable[[], float], notifications: Sequence[Notification], rounds: int) -> None:
    runs = [part() / len(notifications) * 1e6 for _ in range(rounds)]
    print(f"{name}: {min(runs):.1f} µs an event (runs: {', '.join(f'{x:.1f}' for x in runs)})")


if __name__ == "__main__":
    main()
