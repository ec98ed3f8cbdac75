"""The cyclic garbage collector of a long-running Chronicle process (``GC_YOUNG_THRESHOLD``).

Folding the log allocates tens of thousands of short-lived objects a batch (stored events, decoded events,
their dicts, the view's rows). With the interpreter's young-generation threshold (700 allocations) the
collector runs dozens of times a batch; what a batch still holds is promoted, so the older generations fill
and are collected often, and each full collection walks every object alive: the modules, the SQLAlchemy and
pydantic schemas, the caches. Once the process has started, ``tune_collector`` moves every object alive into
the permanent generation (``gc.freeze``: never walked again, and never freed by the collector, which such
objects live too long to need) and raises the young generation's threshold. Cycles made later are still
collected, in larger and rarer sweeps. Measured (docs/benchmarks.md, round eight): a rebuild of 1,000,000
events 40.6 s -> 30-35 s, peak memory the same.
"""

from __future__ import annotations

import gc


def tune_collector(young_threshold: int) -> None:
    """Freeze what is alive now and collect the young generation every ``young_threshold`` allocations;
    0 leaves the collector as the interpreter set it. Call once the process has opened its stores."""
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
