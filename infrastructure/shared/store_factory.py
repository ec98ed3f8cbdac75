"""The eventsourcing library's PostgreSQL factory, also given the connection parameters it has no name for.

The library builds its connection pool from five ``POSTGRES_*`` values (host, port, database, user,
password); everything else a ``DATABASE_URL`` may say to libpq (``sslmode``, ``sslrootcert``,
``application_name``, ``connect_timeout``, ...) would be dropped. ``Settings.event_store_env`` puts
those in ``POSTGRES_CONNECTION_PARAMETERS`` (a libpq connection string), and this factory hands them
to the pool before it opens its first connection.

It also bounds how long a checkout waits. The library retries a failed statement (``@retry`` in
``eventsourcing.postgres``: 10 attempts, 0.2 s apart), and a pool timeout counts as a failure, so a
request finding the pool busy or the server gone would wait ten pool timeouts. The factory reads
``POSTGRES_CONNECT_TIMEOUT`` as the budget for all attempts together and gives each attempt its share.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg.conninfo import conninfo_to_dict

# The library's retry of recorder methods (eventsourcing/postgres.py, ``@retry(..., max_attempts=10, wait=0.2)``).
LIBRARY_ATTEMPTS = 10
LIBRARY_RETRY_WAIT = 0.2
MIN_CHECKOUT_WAIT = 0.05


def checkout_wait(budget: float) -> float:
    """Each attempt's wait for a pooled connection, so that every attempt together takes about ``budget``."""
    return max(MIN_CHECKOUT_WAIT, (budget - (LIBRARY_ATTEMPTS - 1) * LIBRARY_RETRY_WAIT) / LIBRARY_ATTEMPTS)


class ChronicleFactory(PostgresFactory):
    """``eventsourcing.postgres``' factory whose pool connects with every parameter of the URL."""

    POSTGRES_CONNECTION_PARAMETERS = "POSTGRES_CONNECTION_PARAMETERS"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        extra = conninfo_to_dict(self.env.get(self.POSTGRES_CONNECTION_PARAMETERS) or "")
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)  # the library always gives its pool a dict of connection kwargs
        kwargs.update(extra)
        self.datastore.pool.timeout = checkout_wait(self.datastore.pool.timeout)
