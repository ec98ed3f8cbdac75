"""What operators ask of a running process: each projection's position and lag, and readiness."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from infrastructure.shared.platform import Platform
from infrastructure.shared.readstore import read_position


@dataclass(frozen=True)
class ProjectionState:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class Operations:
    """Projection positions and readiness checks, read from the stores themselves."""

    def __init__(self, platform: Platform, followers: Sequence[str], redis: Callable[[], Any]) -> None:
        self._platform = platform
        self._followers = tuple(followers)
        self._redis = redis

    def head_position(self) -> int:
        return self._platform.head_position()

    def projections(self) -> list[ProjectionState]:
        head = self.head_position()
        with self._platform.read_engine.connect() as conn:
            return [ProjectionState(name, read_position(conn, name), head) for name in self._followers]

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Event store, read store, Redis (when configured) and projection lag; never raises."""
        checks: dict[str, Any] = {}
        try:
            checks["event_store"] = {"ok": True, "head": self.head_position()}
        except Exception as error:
            checks["event_store"] = {"ok": False, "error": type(error).__name__}
        try:
            with self._platform.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["read_store"] = {"ok": True}
        except Exception as error:
            checks["read_store"] = {"ok": False, "error": type(error).__name__}
        client = self._redis()
        if client is not None:
            try:
                checks["redis"] = {"ok": bool(client.ping())}
            except Exception as error:
                checks["redis"] = {"ok": False, "error": type(error).__name__}
        if checks["event_store"]["ok"] and checks["read_store"]["ok"]:
            max_lag = self._platform.settings.ready_max_lag
            lags = {state.name: state.lag for state in self.projections()}
            checks["projections"] = {
                "ok": all(lag <= max_lag for lag in lags.values()),
                "lag": lags,
                "max_lag": max_lag,
            }
        return all(check["ok"] for check in checks.values()), checks
