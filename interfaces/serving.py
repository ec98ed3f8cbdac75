"""Serving the API with several uvicorn worker processes on one socket, and their shared metrics directory.

uvicorn's supervisor starts the workers (each a fresh interpreter importing the app factory by name),
restarts one that dies and stops them all on SIGTERM/SIGINT. Chronicle adds to it: the metrics
directory every worker writes to (``PROMETHEUS_MULTIPROC_DIR``, emptied before the workers start), a
dead worker's live gauges dropped when it is replaced (its counts stay: they happened), and the
banner once every worker answers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from uvicorn import Config
from uvicorn.supervisors import Multiprocess

from infrastructure.shared.metrics import MULTIPROC_ENV, prepare_multiprocess_dir, worker_gone

# How long a worker may take to open its stores and answer before the banner gives up waiting for it.
WORKER_START_SECONDS = 60.0


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which tells the metrics when a worker is gone and says when all are serving."""

    def __init__(self, config: Config, sockets: list[socket.socket], on_ready: Callable[[], None]) -> None:
        super().__init__(config, sockets)
        self.on_ready = on_ready

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def init_processes(self) -> None:
        super().init_processes()
        if all(process.wait_until_ready(WORKER_START_SECONDS, self.should_exit) for process in self.processes):
            self.on_ready()

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()  # a worker found dead is replaced by a new one
        self._forget(before)

    def handle_signals(self) -> None:
        before = self._pids()
        super().handle_signals()  # SIGHUP replaces every worker, SIGTTOU retires one
        self._forget(before)

    def _forget(self, before: set[int]) -> None:
        for pid in before - self._pids():
            worker_gone(pid)


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """The directory the workers share their metrics in: ``PROMETHEUS_MULTIPROC_DIR`` when the operator set
    one (emptied of an earlier run's values), else a new private one removed when the server stops."""
    chosen = os.environ.get(MULTIPROC_ENV)
    path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="chronicle-metrics-"))
    prepare_multiprocess_dir(path)
    try:
        yield path
    finally:
        if not chosen:
            shutil.rmtree(path, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


def serve_workers(config: Config, on_ready: Callable[[], None]) -> None:
    """Run ``config.workers`` worker processes on one listening socket until SIGTERM or SIGINT."""
    with metrics_directory():
        sock = config.bind_socket()
        try:
            Supervisor(config, sockets=[sock], on_ready=on_ready).run()
        finally:
            sock.close()
