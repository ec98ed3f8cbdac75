"""The composition root: one wiring function per context, composed here. Nothing connects before ``open``.

``Chronicle(settings)`` only remembers what to build; ``open()`` connects and wires every context;
``start()`` also listens for progress, runs the projections (when this process should) and
bootstraps (the superadmin). Every adapter can be passed in: a test swaps the clock, the mailer,
the password hasher, the table reader or the read store's engines.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder
from sqlalchemy import Engine

from application.accounts.application import AccountsApplication
from application.accounts.ports import PasswordHasher, TokenSigner
from application.flows.agents import AgentRegistry
from application.flows.application import FlowsApplication
from application.flows.ports import TradeDesk
from application.inventory.application import InventoryApplication
from application.shared.application import EventLog
from application.shared.commands import Clock
from application.shared.ports import Mailer
from application.subscriptions.application import SubscriptionsApplication
from application.subscriptions.ports import PaymentGateway
from application.trades.application import TradesApplication
from application.work_orders.application import WorkOrdersApplication
from application.work_orders.ports import TableReader
from domain.accounts.account import Account
from domain.accounts.permissions import GRANTS as ACCOUNTS_GRANTS
from domain.flows.permissions import GRANTS as FLOWS_GRANTS
from domain.inventory.permissions import GRANTS as INVENTORY_GRANTS
from domain.shared.access import OPERATIONS, AccessPolicy
from domain.subscriptions.permissions import GRANTS as SUBSCRIPTIONS_GRANTS
from domain.trades.permissions import GRANTS as TRADES_GRANTS
from domain.work_orders.permissions import GRANTS as WORK_ORDERS_GRANTS
from infrastructure.accounts.queries import AccountsQueries
from infrastructure.accounts.wiring import Accounts, wire_accounts
from infrastructure.flows.agents import builtin_registry
from infrastructure.flows.wiring import Flows, wire_flows
from infrastructure.inventory.queries import InventoryQueries
from infrastructure.inventory.wiring import Inventory, wire_inventory
from infrastructure.shared.audit_index import wire_audit
from infrastructure.shared.breaker import Breaker
from infrastructure.shared.chain_log import ChainLog, Checkpoints
from infrastructure.shared.eventlog import StreamReader
from infrastructure.shared.jobs import Jobs, JobTimer, celery_sender, sending_app
from infrastructure.shared.leases import REBUILD_NAMESPACE, Leases
from infrastructure.shared.logwatch import LogWatch
from infrastructure.shared.metrics import MetricsAccess, PoolSampler, pool_sources
from infrastructure.shared.operations import Operations
from infrastructure.shared.platform import Platform, open_platform, utc_now
from infrastructure.shared.ratelimit import AccountQuotas, RateLimiter, RequestQuotas, SettingsQuotas
from infrastructure.shared.readstore import create_read_tables, read_position
from infrastructure.shared.rebuild import Exclusive, PostgresShadow, RebuildJobs, Rebuilds, Shadow, SqliteShadow
from infrastructure.shared.runner import Follower, Freshness, PositionBoard, PostgresListener, ProjectionRunner
from infrastructure.shared.settings import Settings
from infrastructure.shared.startup import probe_database
from infrastructure.shared.tokens import JwtTokens
from infrastructure.subscriptions.queries import SubscriptionQueries
from infrastructure.subscriptions.quotas import PlanQuotas
from infrastructure.subscriptions.wiring import Subscriptions, wire_subscriptions
from infrastructure.trades.queries import TradeQueries
from infrastructure.trades.wiring import Trades, wire_trades
from infrastructure.work_orders.queries import WorkOrderQueries
from infrastructure.work_orders.wiring import WorkOrders, wire_work_orders

ACCESS = AccessPolicy(
    [
        ACCOUNTS_GRANTS,
        WORK_ORDERS_GRANTS,
        INVENTORY_GRANTS,
        SUBSCRIPTIONS_GRANTS,
        TRADES_GRANTS,
        FLOWS_GRANTS,
        OPERATIONS,
    ]
)


@dataclass(frozen=True)
class Adapters:
    """Adapters to use instead of the ones built from settings (tests, other deployments)."""

    mailer: Mailer | None = None
    hasher: PasswordHasher | None = None
    tables: TableReader | None = None
    read_engine: Engine | None = None
    write_engine: Engine | None = None
    quotas: AccountQuotas | None = None  # per-account rate limits (default: each account's plan's)
    gateway: PaymentGateway | None = None  # payments (default: PAYMENT_GATEWAY's)
    # The desk flows open their trades through (default: the trades application; tests may pass a fake).
    trade_desk: TradeDesk | None = None
    agents: AgentRegistry | None = None  # the flows' agents (default: the built-ins and the entry points')


@dataclass
class _Wired:
    platform: Platform
    accounts: Accounts
    inventory: Inventory
    work_orders: WorkOrders
    subscriptions: Subscriptions
    trades: Trades
    flows: Flows
    runners: dict[str, ProjectionRunner]
    services: dict[type, Any]
    logwatch: LogWatch


class Chronicle:
    """Everything a Chronicle process runs, built from ``Settings``."""

    def __init__(self, settings: Settings, clock: Clock = utc_now, adapters: Adapters | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.adapters = adapters or Adapters()
        self._wired: _Wired | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: PostgresListener | None = None
        self._redis: Any = None
        self._request_redis: Any = None
        self._leases: Leases | None = None
        self._timer: JobTimer | None = None
        self._pools: PoolSampler | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def open(self) -> None:
        """Connect to the stores and wire every context (once); creates missing read-model tables.

        Start-up checks first: ``StartupRefused`` says in one line why this process cannot start (no
        database at that address, ...); the settings themselves were checked when they were read.
        """
        if self._wired is not None:
            return
        probe_database(self.settings)
        # The embedded store's own secret is made (or read) here, not when the root is built.
        settings = self.settings = self.settings.signing_ready().personal_data_ready()
        adapters = self.adapters
        tokens = JwtTokens(
            settings.signing_secret(),
            access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
        platform = open_platform(
            settings, self.clock, read_engine=adapters.read_engine, write_engine=adapters.write_engine
        )
        # One breaker for Redis on the request path: the limiter and the login-failure counts skip it together.
        breaker = Breaker("Redis", settings.redis_breaker_seconds)
        accounts = wire_accounts(
            platform, hasher=adapters.hasher, mailer=adapters.mailer, redis=self.request_redis, breaker=breaker
        )
        inventory = wire_inventory(platform)
        work_orders = wire_work_orders(platform, accounts=accounts.app, stock=inventory.app, tables=adapters.tables)
        subscriptions = wire_subscriptions(
            platform,
            gateway=adapters.gateway,
            new_account_events=(Account.Registered,),
            closed_account_events=(Account.Closed,),
        )
        trades = wire_trades(platform, entitlements=subscriptions.queries)
        flows = wire_flows(
            platform,
            registry=adapters.agents or builtin_registry(settings),
            trade_desk=adapters.trade_desk or trades.app,
            entitlements=subscriptions.queries,
        )
        if not settings.jobs_run_in_process and (settings.celery_broker_url or settings.redis_url):
            # What commands enqueue (a flow run's steps) goes to the Celery workers (connects on the first send).
            platform.jobs.deliver_with(celery_sender(sending_app(settings)))
        # The audit index follows the whole log beside the contexts (infrastructure/shared/audit_index.py).
        contexts = (accounts, inventory, work_orders, subscriptions, trades, flows, wire_audit(platform))
        create_read_tables(platform.write_engine)
        runners = {
            follower.name: self._runner(platform, follower) for context in contexts for follower in context.followers
        }
        logwatch = LogWatch(
            platform.board,
            platform.head_position,
            max_lag_seconds=settings.access_state_max_lag_seconds,
            sample_seconds=settings.log_head_sample_seconds,
        )
        services: dict[type, Any] = {
            EventLog: platform.log,
            StreamReader: StreamReader(platform.log.recorder),
            Checkpoints: Checkpoints(ChainLog(platform.log.recorder), settings.checkpoint_signer(), self.clock),
            JwtTokens: tokens,
            AccessPolicy: ACCESS,
            Clock: self.clock,
            Freshness: Freshness(
                platform.board, settings.read_your_writes_timeout_seconds, settings.read_your_writes_max_waiting
            ),
            LogWatch: logwatch,
            Operations: Operations(platform, list(runners), self.redis, RebuildJobs(platform.write_engine)),
            Rebuilds: self._rebuilds(platform, runners),
            RateLimiter: RateLimiter.from_settings(settings, breaker, self.request_redis),
            RequestQuotas: RequestQuotas.from_settings(settings),
            AccountQuotas: adapters.quotas
            or PlanQuotas(
                subscriptions.queries,
                SettingsQuotas(settings.rate_limit_account_per_minute).quota,
                settings.plan_limits_cache_seconds,
            ),
            MetricsAccess: MetricsAccess.from_settings(settings),
        }
        for context in contexts:
            services.update(context.services())
        self._wired = _Wired(
            platform, accounts, inventory, work_orders, subscriptions, trades, flows, runners, services, logwatch
        )

    def start(self, *, run_projections: bool | None = None) -> None:
        """Open, listen for progress, run the projections here if asked, and bootstrap every context."""
        self.open()
        wired = self._opened
        recorder = wired.platform.log.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            self._listener = PostgresListener(
                wired.platform.postgres_conninfo(), recorder.channel_name, wired.platform.wakeups, self.board
            )
            self._listener.start()
        wired.logwatch.start()
        self._pools = PoolSampler(pool_sources(wired.platform))
        self._pools.start()
        if self.settings.projections_in_process if run_projections is None else run_projections:
            if isinstance(recorder, PostgresApplicationRecorder):
                # One active worker per projection across processes: the others stand by (leases.py).
                leases = self._leases = Leases(wired.platform.postgres_conninfo())
                for runner in wired.runners.values():
                    runner.lease = partial(leases.holds, runner.name)
            for runner in wired.runners.values():
                thread = threading.Thread(target=runner.run, args=(self._stop,), name=f"projection-{runner.name}")
                thread.daemon = True
                thread.start()
                self._threads.append(thread)
        self._bootstrap()
        if self.settings.jobs_run_in_process:  # the embedded store's stand-in for `chronicle worker` + `beat`
            self._timer = JobTimer(wired.platform.jobs, self._stop)
            self._timer.start()

    def prepare(self) -> None:
        """Once, before several processes start on the same stores at the same moment (``serve --workers``):
        create the tables and bootstrap every context (the superadmin), then close. Processes that start
        together afterwards find it all made instead of racing to make it."""
        self.open()
        try:
            self._bootstrap()
        finally:
            self.close()

    def _bootstrap(self) -> None:
        wired = self._opened
        contexts = (wired.accounts, wired.inventory, wired.work_orders, wired.subscriptions, wired.trades, wired.flows)
        for context in contexts:
            context.start(wired.platform)

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
        wired, self._wired = self._wired, None
        if wired is None:
            return
        wired.logwatch.stop()
        if self._pools is not None:
            self._pools.stop()
        for runner in wired.runners.values():
            runner.wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        rebuilds: Rebuilds = wired.services[Rebuilds]
        rebuilds.close()
        if self._leases is not None:
            self._leases.close()
            self._leases = None
        if self._timer is not None:
            wired.platform.jobs.wake()  # out of its idle wait at once
            self._timer.join(timeout=10)
            self._timer = None
        if self._listener is not None:
            self._listener.stop()
        for client in (self._redis, self._request_redis):
            if client is not None:
                client.close()
        apps = (
            wired.flows.app,
            wired.trades.app,
            wired.subscriptions.app,
            wired.work_orders.app,
            wired.inventory.app,
            wired.accounts.app,
        )
        for app in apps:
            app.close()
        wired.platform.close()

    # --- what the process holds, once open ---------------------------------------------

    @property
    def _opened(self) -> _Wired:
        if self._wired is None:
            raise RuntimeError("Chronicle is not open: call open() or start() first")
        return self._wired

    @property
    def services(self) -> dict[type, Any]:
        """What the edges may depend on, by type (the HTTP layer resolves its dependencies here)."""
        return self._opened.services

    @property
    def jobs(self) -> Jobs:
        """The background tasks and sweeps every context registered (run by Celery or the in-process timer)."""
        return self._opened.platform.jobs

    @property
    def tokens(self) -> JwtTokens:
        tokens: JwtTokens = self.services[JwtTokens]
        return tokens

    @property
    def log(self) -> EventLog:
        return self._opened.platform.log

    @property
    def accounts(self) -> AccountsApplication:
        return self._opened.accounts.app

    @property
    def inventory(self) -> InventoryApplication:
        return self._opened.inventory.app

    @property
    def work_orders(self) -> WorkOrdersApplication:
        return self._opened.work_orders.app

    @property
    def subscriptions(self) -> SubscriptionsApplication:
        return self._opened.subscriptions.app

    @property
    def trades(self) -> TradesApplication:
        return self._opened.trades.app

    @property
    def trade_queries(self) -> TradeQueries:
        return self._opened.trades.queries

    @property
    def flows(self) -> FlowsApplication:
        return self._opened.flows.app

    @property
    def account_queries(self) -> AccountsQueries:
        return self._opened.accounts.queries

    @property
    def inventory_queries(self) -> InventoryQueries:
        return self._opened.inventory.queries

    @property
    def work_order_queries(self) -> WorkOrderQueries:
        return self._opened.work_orders.queries

    @property
    def subscription_queries(self) -> SubscriptionQueries:
        return self._opened.subscriptions.queries

    @property
    def signer(self) -> TokenSigner:
        return self._opened.accounts.signer

    @property
    def runners(self) -> dict[str, ProjectionRunner]:
        return self._opened.runners

    @property
    def board(self) -> PositionBoard:
        return self._opened.platform.board

    @property
    def read_engine(self) -> Engine:
        return self._opened.platform.read_engine

    @property
    def write_engine(self) -> Engine:
        return self._opened.platform.write_engine

    @property
    def rebuilds(self) -> Rebuilds:
        rebuilds: Rebuilds = self.services[Rebuilds]
        return rebuilds

    @property
    def operations(self) -> Operations:
        ops: Operations = self.services[Operations]
        return ops

    def head_position(self) -> int:
        return self._opened.platform.head_position()

    def stored_position(self, name: str) -> int:
        """The position ``name`` has committed, read from the read store."""
        with self.read_engine.connect() as conn:
            return read_position(conn, name)

    def ensure_superadmin(self) -> None:
        self._opened.accounts.start(self._opened.platform)

    def redis(self) -> Any:
        """A Redis client when ``REDIS_URL`` is set (created on first use), else None."""
        if self.settings.redis_url and self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return self._redis

    def request_redis(self) -> Any:
        """A Redis client for calls made while answering a request: short timeouts (REDIS_REQUEST_TIMEOUT_SECONDS)."""
        if self.settings.redis_url and self._request_redis is None:
            import redis

            timeout = self.settings.redis_request_timeout_seconds
            self._request_redis = redis.Redis.from_url(
                self.settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        return self._request_redis

    def _rebuilds(self, platform: Platform, runners: dict[str, ProjectionRunner]) -> Rebuilds:
        """Zero-downtime rebuilds (rebuild.py): shadow tables in a schema of their own on PostgreSQL, in an
        attached file on the embedded store; one rebuild per projection at a time, across processes."""
        settings = self.settings
        postgres = not settings.embedded

        def shadow_for(runner: ProjectionRunner) -> Shadow:
            name, tables = runner.name, runner.follower.tables
            if postgres:
                return PostgresShadow(name, tables, platform.write_engine, settings.rebuild_lock_timeout_seconds)
            return SqliteShadow(name, tables, settings.read_store_url())

        leases = Leases(platform.postgres_conninfo(), namespace=REBUILD_NAMESPACE) if postgres else None
        return Rebuilds(
            runners, shadow_for, platform.head_position, Exclusive(leases), RebuildJobs(platform.write_engine)
        )

    def _runner(self, platform: Platform, follower: Follower) -> ProjectionRunner:
        return ProjectionRunner(
            platform.log,
            platform.write_engine,
            follower,
            board=platform.board,
            wake=platform.wakeups.new(),
            tail=platform.tail,
            announcer=platform.announcer,
            batch_size=self.settings.projection_batch_size,
            poll_seconds=self.settings.projection_poll_seconds,
            gather_seconds=self.settings.projection_gather_seconds,
            retry_seconds=self.settings.projection_retry_seconds,
            retry_max_seconds=self.settings.projection_retry_max_seconds,
            standby_seconds=self.settings.projection_standby_seconds,
        )
