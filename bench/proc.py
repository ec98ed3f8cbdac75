"""CPU seconds of processes from ``/proc`` (Linux): a server's process tree, a database's PostgreSQL backends.

What a figure costs in CPU is what bounds it on a machine of two cores: the HTTP scenario reports the
server's and the database's CPU a request beside its requests a second, measured over the same runs.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone, or no /proc
        return None
    return text[text.rindex(")") + 2 :].split()  # the fields after the command's name (it may hold spaces)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` so far (0 for a process that is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's workers below its supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to ``database``: their titles read ``postgres: <user> <database> ...``,
    after the cluster's name where one is set (Debian's ``postgres: 15/main: <user> <database> ...``)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            continue
        if title[:1] != ["postgres:"]:
            continue
        words = title[2:] if len(title) > 1 and title[1].endswith(":") else title[1:]  # after a cluster's name
        if len(words) >= 2 and words[1] == database:
            found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU spent between ``start`` and ``stop`` by a server's process tree, another process beside it (the
    projection worker) and the database's backends, summed over every start/stop. Processes that start in
    between are counted from zero and those that end are lost: read them while the load runs."""

    def __init__(self, server: int, beside: int, database: str) -> None:
        self.server, self.beside, self.database = server, beside, database
        self.server_seconds = self.beside_seconds = self.database_seconds = 0.0
        self._began: dict[int, float] = {}

    def _groups(self) -> tuple[list[int], list[int], list[int]]:
        return tree(self.server), [self.beside], backends(self.database)

    def start(self) -> None:
        self._began = {pid: cpu_seconds(pid) for group in self._groups() for pid in group}

    def stop(self) -> None:
        spent = [sum(cpu_seconds(pid) - self._began.get(pid, 0.0) for pid in group) for group in self._groups()]
        self.server_seconds += spent[0]
        self.beside_seconds += spent[1]
        self.database_seconds += spent[2]
