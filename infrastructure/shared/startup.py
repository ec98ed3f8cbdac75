"""Checks a process makes before it serves: the database named by ``DATABASE_URL`` answers."""

from __future__ import annotations

import re

import psycopg

from infrastructure.shared.settings import Settings, StartupRefused


def probe_database(settings: Settings) -> None:
    """Connect once, with libpq's connect_timeout, so that a wrong or dead ``DATABASE_URL`` fails at start in
    seconds, naming what was tried and why it failed (the pools would retry it for half a minute)."""
    if settings.embedded:
        return
    params = settings.postgres_params()
    target = f"PostgreSQL at {params['host']}:{params['port']}, database {params['dbname']!r} as {params['user']!r}"
    try:
        psycopg.connect(settings.postgres_conninfo()).close()
    except psycopg.Error as error:
        raise StartupRefused(f"DATABASE_URL: cannot connect to {target}: {_cause(error, params)}") from None


def _cause(error: psycopg.Error, params: dict[str, str]) -> str:
    """libpq's or the server's reason in a few words: without the connection preamble, severity or hints."""
    text = str(error).strip()
    if "timeout expired" in text:
        return f"no answer within {params['connect_timeout']} s (timeout expired)"
    if "Connection refused" in text:
        return "connection refused (is PostgreSQL running and listening there?)"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    reason = first.rpartition("failed: ")[2] if "failed: " in first else first
    return re.sub(r"^(FATAL|ERROR):\s*", "", reason)
