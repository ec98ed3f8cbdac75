"""The composition root: builds every component from settings. Nothing connects at import."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder
from sqlalchemy import Engine

from application.accounts import AccountsApplication, AccountsConfig
from application.base import SYSTEM_ACTOR, CommandContext
from application.mail_policy import MailPolicy
from application.work_orders import WorkOrdersApplication
from domain.account import LoginPolicy, Profile
from infrastructure.accounts_readmodel import ACCOUNT_TABLES, AccountsQueries, SqlAccountsView, backfill_status_counts
from infrastructure.eventlog import StreamReader
from infrastructure.inventory_readmodel import INVENTORY_TABLES, InventoryQueries, SqlInventoryView
from infrastructure.mail import EmlFolderMailer
from infrastructure.readstore import create_read_engine, metadata, read_position
from infrastructure.runner import Follower, PositionBoard, PostgresListener, ProjectionRunner, Wakeups
from infrastructure.security import Argon2PasswordHasher, HmacTokenSigner, JwtTokens
from infrastructure.settings import DEV_JWT_SECRET, Settings
from infrastructure.work_orders_readmodel import WORK_ORDER_TABLES, SqlWorkOrdersView, WorkOrderQueries
from projections.accounts import AccountsProjection
from projections.inventory import InventoryProjection
from projections.work_orders import WorkOrdersProjection

log = logging.getLogger("chronicle")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Container:
    """Everything a Chronicle process needs, wired once from ``Settings``."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        secret = settings.jwt_secret.get_secret_value()
        if secret == DEV_JWT_SECRET and not settings.embedded:
            log.warning("JWT_SECRET is the development default; set your own before exposing this server")
        self.hasher = Argon2PasswordHasher(
            settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
        )
        self.signer = HmacTokenSigner(secret)
        self.tokens = JwtTokens(
            secret,
            access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
        self.mailer = EmlFolderMailer(settings.mail_folder)
        self.accounts = AccountsApplication(
            self.hasher,
            AccountsConfig(
                login_policy=LoginPolicy(
                    max_failures=settings.login_max_failures,
                    lockout=timedelta(minutes=settings.login_lockout_minutes),
                ),
                auto_verify_email=settings.auto_verify_email,
                verification_ttl=timedelta(hours=settings.verification_ttl_hours),
                reset_ttl=timedelta(minutes=settings.reset_ttl_minutes),
                session_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
            ),
            env=settings.event_store_env(),
        )
        # Another service over the same log: its events take their place in the one global order.
        self.work_orders = WorkOrdersApplication(
            self.accounts, env=settings.event_store_env(), shares_log_with=self.accounts
        )
        # Connections beyond pool_size would be opened and closed per checkout: keep them all instead.
        self.read_engine: Engine = create_read_engine(
            settings.read_store_url(), pool_size=settings.read_pool_size, max_overflow=0
        )
        self.write_engine: Engine = create_read_engine(settings.read_store_url(), pool_size=2, writer=True)
        metadata.create_all(self.write_engine)
        with self.write_engine.begin() as conn:
            backfill_status_counts(conn)
        self.account_queries = AccountsQueries(self.read_engine)
        self.inventory_queries = InventoryQueries(self.read_engine)
        self.work_order_queries = WorkOrderQueries(self.read_engine, self.inventory_queries)
        self.streams = StreamReader(self.accounts.recorder)
        self.board = PositionBoard(self.stored_position)
        self.wakeups = Wakeups()
        for app in (self.accounts, self.work_orders):
            app.save_listeners.append(self.wakeups.ring)
        self.runners: dict[str, ProjectionRunner] = {
            follower.name: ProjectionRunner(
                self.accounts,
                self.write_engine,
                follower,
                board=self.board,
                wake=self.wakeups.new(),
                batch_size=settings.projection_batch_size,
                poll_seconds=settings.projection_poll_seconds,
            )
            for follower in (
                Follower(AccountsProjection(), SqlAccountsView, ACCOUNT_TABLES),
                Follower(WorkOrdersProjection(), SqlWorkOrdersView, WORK_ORDER_TABLES),
                Follower(InventoryProjection(), SqlInventoryView, INVENTORY_TABLES),
                Follower(MailPolicy(self.accounts, self.mailer, self.signer, settings.public_base_url)),
            )
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: PostgresListener | None = None
        self._redis: Any = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self, *, run_projections: bool | None = None) -> None:
        """Listen for progress, run the projections here if asked, and make sure the superadmin exists."""
        recorder = self.accounts.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            self._listener = PostgresListener(self._conninfo(), recorder.channel_name, self.wakeups, self.board)
            self._listener.start()
        if self.settings.projections_in_process if run_projections is None else run_projections:
            for runner in self.runners.values():
                thread = threading.Thread(target=runner.run, args=(self._stop,), name=f"projection-{runner.name}")
                thread.daemon = True
                thread.start()
                self._threads.append(thread)
        self.ensure_superadmin()

    def run_projections_forever(self) -> None:
        """The ``chronicle project`` worker: run every follower until interrupted."""
        self.start(run_projections=True)
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            self.close()

    def stop(self) -> None:
        """Ask the projection threads (and ``run_projections_forever``) to finish."""
        self._stop.set()

    def close(self) -> None:
        self.stop()
        for runner in self.runners.values():
            runner.wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._listener is not None:
            self._listener.stop()
        if self._redis is not None:
            self._redis.close()
        self.work_orders.close()
        self.accounts.close()
        self.read_engine.dispose()
        self.write_engine.dispose()

    def ensure_superadmin(self) -> None:
        settings = self.settings
        if not settings.superadmin_email or settings.superadmin_password is None:
            return
        self.accounts.ensure_superadmin(
            self.system_context("bootstrap"),
            email=settings.superadmin_email,
            password=settings.superadmin_password.get_secret_value(),
            profile=Profile(first_name="Super", last_name="Admin"),
        )

    # --- helpers ----------------------------------------------------------------------

    def system_context(self, reason: str) -> CommandContext:
        return CommandContext(actor=SYSTEM_ACTOR, correlation_id=reason, causation_id=reason, now=self.clock())

    def redis(self) -> Any:
        """A Redis client when ``REDIS_URL`` is set (created on first use), else None."""
        if self.settings.redis_url and self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return self._redis

    def head_position(self) -> int:
        return self.accounts.recorder.max_notification_id() or 0

    def stored_position(self, name: str) -> int:
        """The position ``name`` has committed, read from the read store."""
        with self.read_engine.connect() as conn:
            return read_position(conn, name)

    def _conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        env = self.settings.event_store_env()
        return make_conninfo(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=5,
        )
