"""What counts as "a store is unavailable": the connection errors of every library Chronicle talks through.

One rule for every caller: the HTTP edge answers these 503 ``store_unavailable`` (never 500), the
projection runners wait and retry them without calling the projection failed, and the recorder
retries them on a fresh connection within a bounded time.
"""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from sqlalchemy import exc as sqlalchemy_errors

# psycopg_pool.PoolTimeout is a psycopg.OperationalError; the library re-raises psycopg's errors as its own.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    StoreOperationalError,
    StoreInterfaceError,
    sqlalchemy_errors.OperationalError,
    sqlalchemy_errors.InterfaceError,
    sqlalchemy_errors.TimeoutError,  # no connection free in the read store's pool in time
)


def store_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says a store cannot be reached or cannot serve right now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, CONNECTION_ERRORS):
            return True
        if isinstance(current, sqlalchemy_errors.DBAPIError) and current.connection_invalidated:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
