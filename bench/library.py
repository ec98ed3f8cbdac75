"""The peer: the plain ``eventsourcing`` library doing the same work with its default settings, in its own database.

A profile aggregate (registration, then profile updates, as Chronicle's accounts), an ``Application`` with
the library's PostgreSQL persistence and nothing changed: its recorder, its pool, its transcoder, no
snapshots. A command is the library's own load → decide → save: ``repository.get``, a method that
triggers one event, ``save``. Its catch-up reads the log through the recorder, decodes each event with
the application's mapper and folds it into a PostgreSQL table with the library's tracking recorder, a
batch per transaction, as Chronicle's runner does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.core import ensure_database

LIBRARY_TABLES = ("profiles_events", "profiles_snapshots", "bench_library_profiles", "bench_library_tracking")


class Profile(Aggregate):
    """Chronicle's account, reduced to what the command touches."""

    def __init__(self, email: str, first_name: str, last_name: str) -> None:
        self.email = email
        self.first_name = first_name
        self.last_name = last_name

    @event("Updated")
    def update(self, first_name: str, last_name: str) -> None:
        self.first_name = first_name
        self.last_name = last_name


class Profiles(Application[UUID]):
    """The library's application, default settings."""


def library_url(database_url: str) -> str:
    """The peer's own scratch database beside the bench's."""
    params = conninfo_to_dict(database_url)
    return make_conninfo(database_url, dbname=f"{params.get('dbname') or 'chronicle_bench'}_library")


def library_env(database_url: str) -> dict[str, str]:
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params["dbname"]),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
    }


def open_library(database_url: str) -> Profiles:
    """A fresh peer: its database made if missing, its tables dropped, the application built on it."""
    url = library_url(database_url)
    ensure_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(LIBRARY_TABLES)} CASCADE")
    return Profiles(env=library_env(url))


def seed(app: Profiles, count: int, updates: int = 3) -> list[UUID]:
    """``count`` profiles of ``1 + updates`` events each, saved in batches (setup, not measured)."""
    ids: list[UUID] = []
    batch: list[Profile] = []
    for n in range(count):
        profile = Profile(f"peer-{n}@example.com", "Ada", f"Lovelace{n}")
        for u in range(updates):
            profile.update("Ada", f"Byron{u}")
        batch.append(profile)
        ids.append(profile.id)
        if len(batch) == 200:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)
    return ids


def command(app: Profiles, profile_id: UUID, n: int) -> None:
    """The library's load → decide → save of one event."""
    profile: Profile = app.repository.get(profile_id)
    profile.update("Ada", f"Run{n}")
    app.save(profile)


class ProfilesView(PostgresTrackingRecorder):
    """A read model of profiles in PostgreSQL, with the library's tracking in the same transaction."""

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, tracking_table_name="bench_library_tracking", **kwargs)

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "CREATE TABLE IF NOT EXISTS bench_library_profiles "
                "(id uuid PRIMARY KEY, email text, first_name text, last_name text, version bigint)"
            )

    def reset(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("TRUNCATE bench_library_profiles, bench_library_tracking")

    def fold(self, rows: Sequence[tuple[UUID, str | None, str, str, int]], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.executemany(
                "INSERT INTO bench_library_profiles (id, email, first_name, last_name, version) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, "
                "last_name = excluded.last_name, version = excluded.version",
                rows,
            )
            self._insert_tracking(curs, tracking)


def library_catch_up(app: Profiles, view: ProfilesView, batch: int = 500) -> int:
    """Fold the whole log into the view from position zero; answers how many events were folded."""
    view.reset()
    position, folded = 0, 0
    while notifications := app.recorder.select_notifications(start=position + 1, limit=batch):
        rows: dict[UUID, tuple[UUID, str | None, str, str, int]] = {}
        for notification in notifications:
            domain_event = app.mapper.to_domain_event(notification)
            state = domain_event.__dict__
            earlier = rows.get(domain_event.originator_id)
            email = state.get("email", earlier[1] if earlier else None)
            rows[domain_event.originator_id] = (
                domain_event.originator_id,
                email,
                state.get("first_name", ""),
                state.get("last_name", ""),
                domain_event.originator_version,
            )
        folded += len(notifications)
        position = notifications[-1].id
        view.fold(list(rows.values()), Tracking(app.name, position))
    return folded
