"""Background work: the tasks and sweeps contexts contribute, run by Celery or by a timer in the API process.

A context's wiring adds to ``platform.jobs`` (a ``Jobs`` registry):

- a **task**: a name (``chronicle.<context>.<verb>``) and a function of JSON arguments that issues one
  command. It must be idempotent by construction (deterministic ids), since Celery may run it again
  after a worker dies mid-way;
- a **sweep**: a name, an interval, the task it feeds and ``find(as_of)``, which answers the argument
  lists of the tasks due at ``as_of`` (e.g. the subscriptions whose next action is due).

Two ways to run them, the same code either way:

- **Celery** (``celery_app``): beat sends ``chronicle.jobs.sweep(<name>)`` every interval; a worker runs
  the sweep and sends one task per item; workers run those. Late acks, requeue when the worker process
  is lost, prefetch 1, a visibility timeout above the longest task, JSON only.
- **In process** (``JobTimer``): on the embedded store the API process itself runs each sweep on its
  interval and every task it finds, one at a time, so ``make run`` needs nothing else.

A command or a task may also **enqueue** a task (``Jobs.enqueue(name, args, countdown=None)``: a flow
run's next step). Where Celery runs (``deliver_with``: the worker's app, and the API process on
PostgreSQL) it is sent as a Celery message (``send_task``, at least once, as any task); otherwise it
waits in this process's queue, which the ``JobTimer`` runs as soon as it is due (``run_pending``).

No context code lives here: the registry knows names and functions only.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery, signals
from celery.beat import Scheduler

from application.shared.commands import Clock
from infrastructure.shared.settings import Settings, StartupRefused

log = logging.getLogger("chronicle.jobs")

SWEEP_TASK = "chronicle.jobs.sweep"
JsonArg = str | int | float | bool | None
TaskArgs = Sequence[JsonArg]
Dispatch = Callable[[str, TaskArgs], None]
# How an enqueued task is delivered: its name, its arguments, and the seconds before it is due (None: now).
Send = Callable[[str, TaskArgs, float | None], None]


@dataclass(frozen=True)
class Task:
    """A named unit of background work: one command, idempotent by construction."""

    name: str
    run: Callable[..., object]


@dataclass(frozen=True)
class Sweep:
    """Every ``interval_seconds``: ``find(as_of)`` → the argument lists of the ``task`` runs now due."""

    name: str
    interval_seconds: float
    task: str
    find: Callable[[datetime], Iterable[TaskArgs]]


class UnknownJob(LookupError):
    """A task or sweep name nobody registered (a message from another version, a typo)."""


class Jobs:
    """The registry the contexts fill from their wiring; runs a task or a sweep by name."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tasks: dict[str, Task] = {}
        self._sweeps: dict[str, Sweep] = {}
        self._send: Send | None = None
        # This process's queue of enqueued tasks (when nothing else delivers them): (due, order, name, args).
        self._queue: list[tuple[float, int, str, tuple[JsonArg, ...]]] = []
        self._order = itertools.count()
        self._queued = threading.Condition()

    def deliver_with(self, send: Send | None) -> None:
        """Deliver enqueued tasks with ``send`` (Celery's ``send_task``); None: in this process's queue."""
        self._send = send

    @property
    def delivered_here(self) -> bool:
        return self._send is None

    def enqueue(self, name: str, args: TaskArgs, countdown: float | None = None) -> None:
        """Have task ``name`` run with ``args``, not before ``countdown`` seconds from now."""
        if name not in self._tasks:
            raise UnknownJob(name)
        if self._send is not None:
            self._send(name, tuple(args), countdown)
            return
        with self._queued:
            due = time.monotonic() + (countdown or 0.0)
            heapq.heappush(self._queue, (due, next(self._order), name, tuple(args)))
            self._queued.notify_all()

    @property
    def pending(self) -> int:
        """How many enqueued tasks wait in this process's queue."""
        with self._queued:
            return len(self._queue)

    def run_pending(self, *, ignore_countdown: bool = False, limit: int | None = None) -> int:
        """Run the queued tasks now due (with ``ignore_countdown``, all of them, and those they enqueue), in
        order, each as ``run_here`` does; answers how many ran (at most ``limit``)."""
        ran = 0
        while limit is None or ran < limit:
            with self._queued:
                if not self._queue or (not ignore_countdown and self._queue[0][0] > time.monotonic()):
                    return ran
                _, _, name, args = heapq.heappop(self._queue)
            self.run_here(name, args)
            ran += 1
        return ran

    def wake(self) -> None:
        """End a ``wait_for_queued`` now (the timer is asked to stop)."""
        with self._queued:
            self._queued.notify_all()

    def wait_for_queued(self, timeout: float) -> None:
        """Block until a queued task is due, or ``timeout`` seconds (the timer's idle wait)."""
        with self._queued:
            wait = timeout if not self._queue else min(timeout, max(0.0, self._queue[0][0] - time.monotonic()))
            if wait > 0:
                self._queued.wait(wait)

    def add_task(self, name: str, run: Callable[..., object]) -> None:
        if name in self._tasks or name == SWEEP_TASK:
            raise ValueError(f"task {name!r} is registered twice")
        self._tasks[name] = Task(name, run)

    def add_sweep(
        self, name: str, interval_seconds: float, task: str, find: Callable[[datetime], Iterable[TaskArgs]]
    ) -> None:
        if name in self._sweeps:
            raise ValueError(f"sweep {name!r} is registered twice")
        if task not in self._tasks:
            raise ValueError(f"sweep {name!r} feeds {task!r}, which is not registered (add the task first)")
        if interval_seconds <= 0:
            raise ValueError(f"sweep {name!r} needs a positive interval")
        self._sweeps[name] = Sweep(name, interval_seconds, task, find)

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(self._tasks.values())

    @property
    def sweeps(self) -> tuple[Sweep, ...]:
        return tuple(self._sweeps.values())

    def run(self, name: str, args: TaskArgs) -> object:
        task = self._tasks.get(name)
        if task is None:
            raise UnknownJob(name)
        return task.run(*args)

    def sweep(self, name: str, dispatch: Dispatch, as_of: datetime | None = None) -> int:
        """Runs sweep ``name`` at ``as_of`` (default: the clock's now), hands each task found to ``dispatch``."""
        sweep = self._sweeps.get(name)
        if sweep is None:
            raise UnknownJob(name)
        found = 0
        for args in sweep.find(as_of or self.clock()):
            dispatch(sweep.task, args)
            found += 1
        return found

    def run_here(self, name: str, args: TaskArgs) -> None:
        """``dispatch`` for running in this process: a failing task is logged, the others still run."""
        try:
            self.run(name, args)
        except Exception:
            log.exception("job failed", extra={"fields": {"task": name, "args": list(args)}})

    def run_sweeps_now(self, as_of: datetime | None = None) -> int:
        """Every sweep once, every task found run here (the timer's pass; tests and the bench call it)."""
        return sum(self.sweep(sweep.name, self.run_here, as_of) for sweep in self.sweeps)


class JobTimer:
    """The in-process runner of the embedded store: each sweep on its interval, its tasks run in this thread."""

    def __init__(self, jobs: Jobs, stop: threading.Event, tick_seconds: float = 1.0) -> None:
        self.jobs = jobs
        self.stop = stop
        self.tick_seconds = tick_seconds
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jobs-timer", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        # A sweep's first pass waits one interval, as beat does: start-up (bootstrap, catch-up) goes first.
        due_at: dict[str, float] = {}
        last_sweep = time.monotonic()
        while not self.stop.is_set():
            # Enqueued tasks (a flow run's next step) run as soon as they are due; sweeps once a tick.
            self.jobs.wait_for_queued(self.tick_seconds)
            if self.stop.is_set():
                return
            self.jobs.run_pending()
            if time.monotonic() - last_sweep < self.tick_seconds:
                continue
            last_sweep = time.monotonic()
            for sweep in self.jobs.sweeps:
                if time.monotonic() < due_at.setdefault(sweep.name, time.monotonic() + sweep.interval_seconds):
                    continue
                try:
                    self.jobs.sweep(sweep.name, self.jobs.run_here)
                except Exception:
                    log.exception("sweep failed", extra={"fields": {"sweep": sweep.name}})
                due_at[sweep.name] = time.monotonic() + sweep.interval_seconds


# --- Celery ---------------------------------------------------------------------------------------


class JobSource:
    """Where a Celery process gets its ``Jobs``: opened on first use (never at import), closed at shutdown.

    ``open`` builds whatever the tasks need (the composition root) and answers its registry; ``close``
    releases it. A prefork child forgets what it inherited and opens its own (connections are not
    shared across a fork).
    """

    def __init__(self, open: Callable[[], Jobs], close: Callable[[], None]) -> None:
        self._open = open
        self._close = close
        self._jobs: Jobs | None = None
        self._lock = threading.Lock()
        self._send: Send | None = None

    def deliver_with(self, send: Send) -> None:
        """Every ``Jobs`` this source opens (again after a fork) enqueues through ``send`` (Celery's)."""
        self._send = send
        if self._jobs is not None:
            self._jobs.deliver_with(send)

    def jobs(self) -> Jobs:
        with self._lock:
            if self._jobs is None:
                self._jobs = self._open()
                if self._send is not None:
                    self._jobs.deliver_with(self._send)
            return self._jobs

    @property
    def is_open(self) -> bool:
        return self._jobs is not None

    def close(self) -> None:
        with self._lock:
            if self._jobs is not None:
                self._jobs = None
                self._close()

    def forget(self) -> None:
        """After a fork: drop the parent's (its connections belong to the parent), open anew when needed."""
        with self._lock:
            self._jobs = None


def broker_url(settings: Settings) -> str:
    url = settings.celery_broker_url or settings.redis_url
    if not url:
        raise StartupRefused("CELERY_BROKER_URL or REDIS_URL: one is required to run background jobs on Celery")
    return url


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's settings from Chronicle's: at-least-once delivery that survives a worker's death."""
    url = broker_url(settings)
    return {
        "broker_url": url,
        "result_backend": url,
        # Nobody waits for a job's result (its effect is in the log): none are written.
        "task_ignore_result": True,
        "result_expires": 3600,
        # Acknowledge after the task ran, and give a task back when its worker process died under it,
        # so a SIGKILL mid-task means the task runs again elsewhere (it is idempotent, so that is safe).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message in hand per worker process: a dying worker strands at most the one it runs.
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {
            # Unacknowledged messages go back to the queue after this long: above the longest task, so a task
            # still running is not handed to a second worker.
            "visibility_timeout": settings.celery_visibility_timeout_seconds,
            # Look for such messages this often (kombu's default looks only every ~100 s).
            "unacked_restore_interval": settings.celery_restore_interval_seconds,
            "unacked_restore_throttle": 1,
        },
        "task_time_limit": settings.celery_task_time_limit_seconds,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_default_queue": settings.celery_queue,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_scheduler": "infrastructure.shared.jobs:SweepScheduler",
        "beat_max_loop_interval": 5,
        "beat_enable_remote_control": True,  # `celery inspect ping -d celerybeat@host`: the beat health check
    }


def celery_app(settings: Settings, source: JobSource) -> Celery:
    """The Celery application of Chronicle's jobs, connected to nothing until a worker or beat starts.

    A worker opens ``source`` when it starts (before it consumes, so every task name is known) and
    registers one Celery task per registered task, plus the sweep task; beat asks ``source`` for the sweeps.
    """
    app = Celery("chronicle", set_as_current=False)
    app.conf.update(celery_config(settings))
    app.chronicle_jobs = source  # read by SweepScheduler

    def send(name: str, args: TaskArgs) -> None:
        app.send_task(name, args=list(args))

    # What a task or command enqueues goes out as a Celery message too (at least once, like any task).
    source.deliver_with(celery_sender(app))

    @app.task(name=SWEEP_TASK)  # type: ignore[untyped-decorator]
    def sweep(name: str) -> int:
        return source.jobs().sweep(name, send)

    def register(jobs: Jobs) -> None:
        for task in jobs.tasks:
            if task.name not in app.tasks:
                app.task(name=task.name)(_runner(source, task.name))

    def opened(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return
        try:
            register(source.jobs())
        except Exception as error:
            # Celery logs and ignores a failing signal handler: a worker would then run without its tasks and
            # discard their messages as unregistered. It stops instead (and is restarted, e.g. by compose).
            log.critical("worker cannot start: %s: %s", type(error).__name__, error)
            raise SystemExit(1) from error

    def forked(**_: Any) -> None:
        source.forget()

    def closed(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            source.close()

    signals.worker_init.connect(opened, weak=False)
    signals.worker_process_init.connect(forked, weak=False)
    signals.worker_shutdown.connect(closed, weak=False)

    return app


def celery_sender(app: Celery) -> Send:
    """``Jobs.deliver_with`` for Celery: each enqueued task is a ``send_task`` (with its countdown)."""

    def send(name: str, args: TaskArgs, countdown: float | None) -> None:
        app.send_task(name, args=list(args), countdown=countdown)

    return send


def sending_app(settings: Settings) -> Celery:
    """A Celery application that only sends (the API process's, on PostgreSQL): connects on its first send."""
    app = Celery("chronicle", set_as_current=False)
    app.conf.update(celery_config(settings))
    return app


def _runner(source: JobSource, name: str) -> Callable[..., object]:
    def run(*args: JsonArg) -> object:
        return source.jobs().run(name, args)

    run.__name__ = run.__qualname__ = name.rpartition(".")[2]
    return run


class SweepScheduler(Scheduler):  # type: ignore[misc]  # celery ships no types
    """Beat's schedule: one entry per registered sweep (its interval, the sweep task with its name)."""

    def setup_schedule(self) -> None:
        super().setup_schedule()
        source: JobSource = self.app.chronicle_jobs
        opened_here = not source.is_open
        self.update_from_dict(
            {
                f"sweep:{sweep.name}": {
                    "task": SWEEP_TASK,
                    "schedule": sweep.interval_seconds,
                    "args": (sweep.name,),
                    # A sweep nobody ran within its interval is dropped: the next one finds the same work.
                    "options": {"expires": sweep.interval_seconds},
                }
                for sweep in source.jobs().sweeps
            }
        )
        # Beat only sends: it holds no connections while it runs (unless a worker in this process, `-B`, uses them).
        if opened_here:
            source.close()
