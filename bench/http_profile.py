"""Where the HTTP scenario's server spends its Python CPU (a development tool, not a scenario).

``python -m bench.http_profile --database-url postgresql://.../scratch [--seconds 20] [--connections 32]``

Sets up as the HTTP scenario does (managers logged in, a projection worker beside one uvicorn worker
process), drives POST /api/v1/work-orders from this process and meanwhile samples the server with
``py-spy record --gil`` (only the thread holding the GIL, so a sample is Python running, not waiting).
Prints the throughput with and without the sampler, then the samples by layer: the event loop's part
(the middleware on the way in, dependency solving, the hand-offs to worker threads, the response
through the middleware's send wrappers, serialization, routing) against the worker threads' (the
endpoint's command, the rate limit with its authorization). ``--raw FILE`` keeps py-spy's stacks.
``--projector`` samples the projection worker beside the server instead, and prints the functions most
often on its sampled stacks (each counted once a stack) and the ones most often running (the leaf).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.core import wipe
from bench.scenarios import http

# The response's way out: every middleware wraps ``send``; uvicorn's own send is the last of them.
SEND_WRAPPERS = (
    "send_with_id",
    "send_secured",
    "keep_then_send",
    "send_with_limits",
    "CORSMiddleware.send",
    "send_with_limit",
    ".sender",
    "._send",
    "RequestResponseCycle.send",
)


def layer(frames: list[str]) -> str:
    """The layer a sampled stack (outermost frame first) is in."""
    names = [frame.split(" (", 1)[0] for frame in frames]

    def has(*parts: str) -> bool:
        return any(part in name for name in names for part in parts)

    if has("WorkerThread.run"):
        if has("_run_sync_endpoint"):
            return "worker threads: the endpoint (the command: load, decide, save)"
        if has("rate_limited"):
            return "worker threads: the rate limit and the token's authorization"
        return "worker threads: other"
    if not has("Runner.run"):
        return "other threads (listener, pools, metrics)"
    if has(*SEND_WRAPPERS):
        return "event loop: the response through the middleware's send wrappers"
    if has("serialize_response"):
        return "event loop: response validation and serialization"
    if has("run_sync_in_worker_thread", "to_thread.run_sync", "run_in_threadpool", "get_async_backend"):
        return "event loop: hand-offs to worker threads (anyio; the rate limit's and the endpoint's)"
    if has("solve_dependencies"):
        return "event loop: dependency solving (FastAPI's, the thread hand-offs apart)"
    if has("Router.__call__"):
        return "event loop: routing and the request handler"
    if has("run_asgi"):
        return "event loop: the middleware on the way in"
    return "event loop: uvicorn's protocol and the loop itself"


def stacks(raw: Path) -> Iterator[tuple[list[str], int]]:
    """Each sampled stack of py-spy's raw output (outermost frame first) and how many samples it had."""
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack:
            yield stack.split(";"), int(samples)


def breakdown(raw: Path) -> list[tuple[str, int]]:
    counts: collections.Counter[str] = collections.Counter()
    for frames, n in stacks(raw):
        counts[layer(frames)] += n
    return counts.most_common()


def _function(frame: str) -> str:
    """``name (file.py)`` of a py-spy frame ``name (path/to/file.py:line)``: one entry for all its lines."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].rsplit(':', 1)[0].rstrip(')')})" if where else name


def functions(raw: Path, top: int = 30) -> None:
    """The functions most often on a sampled stack (inclusive) and most often its leaf (self), by share."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for stack, n in stacks(raw):
        frames = [_function(frame) for frame in stack]
        total += n
        leaf[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"{total} samples holding the GIL")
    for title, counts in (("on the stack", inclusive), ("running (leaf)", leaf)):
        print(title)
        for name, n in counts.most_common(top):
            print(f"  {100 * n / max(total, 1):5.1f} %  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database (its tables are dropped)")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks here")
    parser.add_argument("--projector", action="store_true", help="sample the projection worker, not the server")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise SystemExit("py-spy is not installed (it is in the dev extra: pip install -e '.[dev]')")
    url = args.database_url
    wipe(url)
    emails = http.seed_managers(url, args.connections)
    logs = Path(tempfile.mkdtemp(prefix="http-profile-"))
    raw = args.raw or logs / "stacks.raw"
    with (
        http.project(url, logs / "projector.log", http.PROJECTOR_ENV) as projector,
        http.serve("bench.http_apps:chronicle", url, logs / "chronicle.log", 1, http.chronicle_env(1, logs / "m")) as (
            port,
            pid,
        ),
    ):
        tokens = [asyncio.run(http.login(port, email)) for email in emails]
        asyncio.run(http.drive(port, tokens, 2.0))  # warm
        plain, _, _ = asyncio.run(http.drive(port, tokens, float(args.seconds)))
        target = projector if args.projector else pid
        record = ["record", "--pid", str(target), "--gil", "--rate", "67", "--format", "raw"]
        sampler = subprocess.Popen(  # noqa: S603 - the dev extra's profiler, on our own server
            [spy, *record, "--duration", str(args.seconds), "--output", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sampled, _, statuses = asyncio.run(http.drive(port, tokens, float(args.seconds)))
        sampler.wait(timeout=args.seconds + 30)
    print(f"throughput: {plain} req/s unsampled, {sampled} req/s while sampled; answers {statuses}")
    if args.projector:
        functions(raw)
        return
    layers = breakdown(raw)
    total = sum(n for _, n in layers) or 1
    print(f"{total} samples holding the GIL (py-spy --gil, 67 Hz, {args.seconds} s)")
    for name, n in layers:
        print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
