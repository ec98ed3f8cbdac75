"""CPU per command of the append-1 scenario's command, measured on its own (a development tool, not a scenario).

``python -m bench.command_profile --database-url postgresql://.../scratch [--commands N] [--cprofile]``

Drops Chronicle's tables in the scratch database, writes accounts of five events with COPY (as the
append scenarios do), then runs ``update_profile`` once on each of ``N`` accounts, one thread, and
prints the process CPU time per command, the wall time per command, how many personal values were
opened (AES-GCM decryptions through the cipher port) and how many aggregates were deep-copied by the
repository. CPU time, unlike wall throughput, is little moved by other work on the machine; the load
average is printed beside it. ``--cprofile`` adds the top functions by own time.

``--fold-ab`` measures instead a load's decode and fold alone, from stored events read beforehand (no
database in the loop): the eager decode (every personal value opened, as followers get them) against
the load's deferred one, alternating, seven rounds over 500 accounts, the minimum and the median.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import os
import pstats
import time
from typing import Any

import eventsourcing.application as library_module

import application.shared.repository as repository_module
from application.shared.metadata import defer_personal_state
from application.shared.repository import mutate_each
from bench.backlog import EVENTS_PER_ACCOUNT, account_id, load_backlog
from bench.core import bench_settings, scratch_container, wipe
from bench.scenarios.append import context
from domain.accounts.values import Profile
from infrastructure.root import Chronicle
from infrastructure.shared.personal_data import PersonalDataKeys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="scratch database (Chronicle's tables are dropped)")
    parser.add_argument("--commands", type=int, default=1500)
    parser.add_argument("--cprofile", action="store_true", help="print the top functions by own time")
    parser.add_argument("--fold-ab", action="store_true", help="a load's decode and fold: eager against deferred")
    args = parser.parse_args()
    if args.fold_ab:
        fold_ab(args.database_url)
        return

    container = scratch_container(args.database_url)
    counts = {"opens": 0, "deepcopies": 0}
    original_open = PersonalDataKeys.open

    def counting_open(self: PersonalDataKeys, *a: Any, **k: Any) -> Any:
        counts["opens"] += 1
        return original_open(self, *a, **k)

    def counting_deepcopy(x: Any, *a: Any, **k: Any) -> Any:
        counts["deepcopies"] += 1
        return copy.deepcopy(x, *a, **k)

    # The repositories' own calls of deepcopy (the library's and Chronicle's), not deepcopy's recursion.
    patched = [m for m in (library_module, repository_module) if hasattr(m, "deepcopy")]
    try:
        warm = 200
        load_backlog(container.accounts, args.database_url, EVENTS_PER_ACCOUNT * (warm + args.commands))
        app = container.accounts
        for n in range(warm):
            app.update_profile(context(), account_id(n), Profile("Ada", f"Warm{n}"))
        PersonalDataKeys.open = counting_open  # type: ignore[method-assign]
        for module in patched:
            module.deepcopy = counting_deepcopy  # type: ignore[attr-defined]
        profiler = cProfile.Profile() if args.cprofile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for n in range(warm, warm + args.commands):
            app.update_profile(context(), account_id(n), Profile("Ada", f"Run{n}"))
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        PersonalDataKeys.open = original_open  # type: ignore[method-assign]
        for module in patched:
            module.deepcopy = copy.deepcopy  # type: ignore[attr-defined]
        container.close()
    per = args.commands
    print(
        f"{per} commands: CPU {cpu / per * 1e6:.0f} µs/command, wall {wall / per * 1e6:.0f} µs/command, "
        f"{counts['opens'] / per:.2f} personal values opened/command, {counts['deepcopies'] / per:.2f} "
        f"aggregate deep copies/command; load average {os.getloadavg()[0]:.1f} (2 cores)"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def fold_ab(database_url: str, accounts: int = 500, rounds: int = 7) -> None:
    wipe(database_url)
    container = Chronicle(bench_settings(database_url))
    container.open()
    try:
        app = container.accounts
        load_backlog(app, database_url, EVENTS_PER_ACCOUNT * accounts)
        mapper = app.metadata_mapper
        streams = [app.recorder.select_events(account_id(n)) for n in range(accounts)]

        def eager() -> None:
            for stored in streams:
                mutate_each(None, (mapper.to_domain_event(e) for e in stored))

        def deferred() -> None:
            for stored in streams:
                defer_personal_state(mutate_each(None, (mapper.to_domain_event_deferred(e) for e in stored)))

        def deferred_and_read() -> None:
            for stored in streams:
                account = mutate_each(None, (mapper.to_domain_event_deferred(e) for e in stored))
                defer_personal_state(account)
                account.email  # noqa: B018 - reading is the point
                account.profile  # noqa: B018

        times: dict[str, list[float]] = {f.__name__: [] for f in (eager, deferred, deferred_and_read)}
        for _ in range(rounds):
            for f in (eager, deferred, deferred_and_read):
                began = time.process_time()
                f()
                times[f.__name__].append((time.process_time() - began) / accounts * 1e6)
    finally:
        container.close()
    for name, runs in times.items():
        print(f"{name}: min {min(runs):.0f} µs a load, median {sorted(runs)[rounds // 2]:.0f} µs")
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
