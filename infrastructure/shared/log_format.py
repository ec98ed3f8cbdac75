"""Logs as one JSON object per line, with the request id of the request being served."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


# What json.dumps(entry, default=str) wrote, from orjson (a request's log line is on every request's path):
# datetimes and dataclasses as their str(), keys that are not strings as strings.
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def dumps(entry: dict[str, Any]) -> str:
    """One log line's JSON text; what orjson cannot encode (an int beyond 64 bits, ...) goes through json."""
    try:
        return orjson.dumps(entry, default=str, option=_ORJSON).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(entry, default=str, ensure_ascii=False)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker, when a server runs several
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return dumps(entry)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """The same configuration as ``configure_logging``, as a ``dictConfig`` a new process applies itself
    (uvicorn's worker processes: they start a fresh interpreter, which logs nothing until configured)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonLogFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
