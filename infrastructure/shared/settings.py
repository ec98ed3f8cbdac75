"""Configuration from the environment (pydantic-settings): every setting has a range, checked at start.

A value out of range, a URL of the wrong kind, a published or short signing secret or a weak
superadmin password fails ``Settings()`` with pydantic's errors, one per setting (the CLI prints them
as ``SETTING_NAME: reason`` lines). Outside the embedded store ``JWT_SECRET`` is required; the
embedded store without one uses a random secret kept in its data folder (``signing_ready``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from infrastructure.shared.checkpoints import CheckpointSigner, KeyUnusable, new_signing_key_text, signing_key

# The development secret older versions signed with: published in this repository, so refused.
DEV_JWT_SECRET = "chronicle-dev-secret-change-me-0123456789"  # noqa: S105 - published, hence refused
PUBLISHED_SECRETS = frozenset({DEV_JWT_SECRET, "change-me-in-production"})
# Passwords that appear in this repository's docs, compose file or tests, and the usual first guesses.
PUBLISHED_PASSWORDS = frozenset(
    {"changeme123", "changeme", "sup3rsecret", "boss-pass-1", "password123", "admin123", "passw0rd!", "s3cretpass"}
)
MIN_SECRET_BYTES = 32
MIN_SUPERADMIN_PASSWORD = 12
# Each API worker holds up to 13 PostgreSQL connections (README, "Connection budget"): the default stops here.
DEFAULT_MAX_WORKERS = 4
SECRET_FILE = "jwt_secret"  # noqa: S105 - the file name, not a secret
PII_KEY_FILE = "pii_master_key"
CHAIN_KEY_FILE = "chain_signing_key"
# The libpq parameters the eventsourcing library has POSTGRES_* names for; the rest of the URL's
# parameters (sslmode, sslrootcert, application_name, ...) go to its pool by ChronicleFactory.
_LIBRARY_PARAMS = ("host", "port", "dbname", "user", "password")


class StartupRefused(Exception):
    """Start-up stops: a setting, or the store it names, cannot be used. The message says which and why."""


def _refuse(code: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError(code, reason)


class Settings(BaseSettings):
    """Chronicle's settings. Unset ``DATABASE_URL`` means the embedded SQLite store."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="postgresql://user:pass@host:port/db[?sslmode=...]; unset: the embedded store"
    )
    data_dir: Path = Path("data")
    redis_url: str | None = Field(default=None, description="redis:// or rediss:// (or unix://)")

    jwt_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Signs tokens: at least 32 bytes; required with PostgreSQL, generated for the embedded store",
    )
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60, le=366 * 24 * 3600)

    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    auto_verify_email: bool = False
    verification_ttl_hours: int = Field(default=24, ge=1, le=30 * 24)
    reset_ttl_minutes: int = Field(default=60, ge=5, le=24 * 60)

    two_factor_key: SecretStr | None = Field(
        default=None,
        description="Master key of two-factor login: TOTP seeds are sealed (AES-GCM) and recovery codes hashed "
        "(HMAC-SHA256) with keys derived from it by HKDF; default: JWT_SECRET. Changing it voids every enrolment",
    )
    two_factor_issuer: str = Field(
        default="Chronicle", min_length=1, max_length=64, description="The issuer authenticator apps show"
    )
    login_challenge_ttl_seconds: int = Field(
        default=300, ge=30, le=3600, description="How long the second login step may follow the password"
    )

    pii_master_key: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Wraps the per-account keys that seal personal fields (AES-GCM), and keys the email claims' "
        "HMAC: at least 32 bytes; required with PostgreSQL, generated for the embedded store. Losing or changing it "
        "erases every account's personal data",
    )
    pii_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a process keeps an account's opened key: another process's erasure takes effect here "
        "within this time",
    )

    argon2_time_cost: int = Field(default=3, ge=1, le=50)
    argon2_memory_cost_kib: int = Field(default=65536, ge=1024, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=2, ge=1, le=64)

    mail_dir: Path | None = None
    public_base_url: str = "http://127.0.0.1:8000"

    superadmin_email: str | None = None
    superadmin_password: SecretStr | None = Field(default=None, validate_default=True)

    read_your_writes_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # --- authorization on fresh state and bounded waits (issue 9: defects 1c, 2, 4) ---
    read_your_writes_max_waiting: int = Field(
        default=16,
        ge=1,
        le=1000,
        description="Requests that may wait for a projection at once (min_position, a new session); "
        "beyond it a request is refused at once with 503. Each waiter holds one of the API's 40 threads",
    )
    access_state_max_lag_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Authenticated requests answer 503 while the accounts projection has not reached the log "
        "head observed this many seconds ago (it may not know of a revocation)",
    )
    log_head_sample_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often each API process samples the log's head (one query)"
    )
    run_projections_in_process: bool | None = Field(
        default=None, description="Default: in-process for the embedded store, separate workers for PostgreSQL"
    )
    projection_batch_size: int = Field(default=2000, ge=1, le=100_000)
    projection_poll_seconds: float = Field(default=1.0, gt=0, le=300)
    projection_gather_seconds: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="A live follower whose last batch brought events starts the next no sooner than this long "
        "after that one began, so the commands saved meanwhile share one read-model transaction: less CPU per "
        "command under load, up to this much more staleness (0: a batch per wake-up)",
    )
    gc_young_threshold: int = Field(
        default=50_000,
        ge=0,
        le=10_000_000,
        description="In each long-running process (`chronicle serve`'s workers, `chronicle project`, `chronicle "
        "projections rebuild`): once started, the objects alive are frozen out of the garbage collector's walks and "
        "its young generation is collected every this many allocations, not 700 (0: the interpreter's collector "
        "as it is)",
    )
    ready_max_lag: int = Field(default=10_000, ge=0)

    group_commit: bool = Field(
        default=True, description="Concurrent commands share one insert transaction and commit (PostgreSQL)"
    )
    aggregate_cache_size: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        description="Aggregates each process keeps in memory between commands (0: none). A cached aggregate is "
        "always brought up to date from the store before a command decides on it",
    )
    postgres_pre_ping: bool = Field(
        default=False,
        description="Ping each pooled connection before use (a round trip per checkout); the recorder already "
        "retries a failed statement on a fresh connection",
    )
    # The pools are sized so that a compose stack (two APIs, the projector, two workers and the CLI)
    # stays well inside PostgreSQL's default max_connections=100: see "Connection budget" in the README.
    read_pool_size: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Read-store connections a process keeps at most (opened on demand); a request that finds "
        "them all busy waits up to POOL_TIMEOUT_SECONDS",
    )
    max_json_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body other than an upload (JSON, forms), counted as it streams: past it, 413",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins whose browser pages may call the API (["https://app.example.com"]); none by default',
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies (comma-separated IPs or networks, * for any) whose X-Forwarded-Proto / -For are believed",
    )

    projection_retry_seconds: float = Field(
        default=0.5, gt=0, le=60, description="First wait after a projection batch fails; it doubles per failure"
    )
    projection_retry_max_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Longest wait between two attempts of a failed projection"
    )
    projection_standby_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a projection worker that is not the active one (another process holds the "
        "projection's PostgreSQL advisory lock) asks again: a failover takes about this long",
    )
    rebuild_lock_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Longest a rebuild's swap waits for queries holding the live tables (PostgreSQL); past it the "
        "swap gives up, the live model stays, and the rebuild is reported failed",
    )
    store_retry_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long the event store retries a statement that lost its connection on a fresh one",
    )
    ready_timeout_seconds: float = Field(
        default=0.8, gt=0, le=10, description="Budget of /ready: a check that has not answered by then is not ok"
    )

    # Rate limits (counted in Redis when REDIS_URL is set, else in this process's memory).
    rate_limit_anonymous_per_minute: int = Field(default=120, ge=1, description="Per client address, anonymous calls")
    rate_limit_credentials_per_minute: int = Field(
        default=20, ge=1, description="Per client address on login, token, register and forgot-password"
    )
    rate_limit_credentials_email_per_minute: int = Field(
        default=10, ge=1, description="Per target email on login, token, register and forgot-password"
    )
    rate_limit_account_per_minute: int = Field(
        default=600, ge=1, description="Per authenticated account (admins are not limited)"
    )
    rate_limit_key_prefix: str = "chronicle-limits"
    redis_request_timeout_seconds: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Socket timeout of Redis calls made while answering a request (rate limits, login failure counts)",
    )
    redis_breaker_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="After a Redis failure, requests skip Redis this long (rate limits not enforced, login failures "
        "counted in memory)",
    )
    # --- subscriptions: payments, dunning and the free plan (subs-core) ---
    payment_gateway: Literal["offline"] = Field(
        default="offline", description="Who charges payment methods: offline (outcome by token: pm_ok, pm_declined, …)"
    )
    dunning_retry_days: str = Field(
        default="1,3,5",
        pattern=r"^\s*\d{1,2}(\s*,\s*\d{1,2}){0,9}\s*$",
        description="Days after a renewal's first failed payment when it is retried (increasing, 1 to 60, at most 10)",
    )
    dunning_final_status: Literal["unpaid", "canceled"] = Field(
        default="unpaid", description="What a subscription becomes when the last retry fails"
    )
    free_plan_name: str = Field(default="Free", min_length=1, max_length=100, description="The free plan's name")
    free_plan_currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="The free plan's currency (ISO 4217)"
    )
    free_plan_requests_per_minute: int | None = Field(
        default=None, ge=1, le=10**9, description="The free plan's limit; unset: RATE_LIMIT_ACCOUNT_PER_MINUTE"
    )
    free_plan_trades_per_day: int | None = Field(default=10, ge=0, le=10**9, description="unset: unlimited")
    free_plan_active_flows: int | None = Field(default=1, ge=0, le=10**9, description="unset: unlimited")
    free_plan_open_work_orders: int | None = Field(default=None, ge=0, le=10**9, description="unset: unlimited")
    postgres_pool_size: int = Field(default=2, ge=1, le=100, description="Event-store connections kept open")
    postgres_max_overflow: int = Field(default=2, ge=0, le=100, description="Event-store connections opened on demand")
    pool_timeout_seconds: int = Field(
        default=3,
        ge=1,
        le=60,
        description="How long a request waits for a pooled connection (event store and read store) before 503",
    )
    database_connect_timeout_seconds: int = Field(
        default=3, ge=1, le=60, description="libpq connect_timeout, unless the URL gives one"
    )
    chain_signing_key: SecretStr | None = Field(
        default=None,
        description="Signs the hash chain's checkpoints (Ed25519): a PEM private key or the base64 of a raw 32-byte "
        "key; unset on the embedded store: made in DATA_DIR/chain_signing_key; unset with PostgreSQL: no checkpoints",
    )
    audit_export_page_size: int = Field(
        default=1000, ge=10, le=50_000, description="Events an audit export reads per query (memory holds one page)"
    )

    # --- subscriptions: webhooks and plan limits (subs-edge) ---
    webhook_secret: SecretStr | None = Field(
        default=None,
        min_length=24,
        description="Shared secret of the payment provider's signed webhooks (HMAC-SHA256); unset: webhooks refused",
    )
    webhook_tolerance_seconds: int = Field(
        default=300, ge=1, le=3600, description="A webhook signed longer ago (or ahead) than this is refused as stale"
    )
    plan_limits_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long the rate limiter keeps an account's plan quota: a plan change is felt within this",
    )

    # --- background jobs (Celery, or a timer in the API process on the embedded store) ---
    jobs_in_process: bool | None = Field(
        default=None,
        description="Run the sweeps and their tasks on a timer inside the API process; default: yes on the "
        "embedded store, no with PostgreSQL (run `chronicle worker` and `chronicle beat`)",
    )
    billing_sweep_seconds: float = Field(
        default=60.0, ge=1, le=24 * 3600, description="How often the subscriptions sweep looks for due work"
    )
    billing_sweep_limit: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Most subscriptions one sweep hands out as tasks"
    )
    celery_broker_url: str | None = Field(
        default=None, description="Broker and result backend of the jobs (redis://, rediss://); default: REDIS_URL"
    )
    celery_queue: str = Field(
        default="chronicle", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="Queue name"
    )
    celery_task_time_limit_seconds: int = Field(
        default=300, ge=1, le=24 * 3600, description="A task still running after this long is killed (prefork)"
    )
    celery_visibility_timeout_seconds: int = Field(
        default=3600,
        ge=2,
        le=7 * 24 * 3600,
        description="An unacknowledged task (its worker died) is delivered again after this long; must exceed "
        "CELERY_TASK_TIME_LIMIT_SECONDS",
    )
    celery_restore_interval_seconds: int = Field(
        default=10, ge=1, le=3600, description="How often a worker looks for tasks whose worker died"
    )

    # --- flows: the durable step executor and its sweeps (issue 11) ---
    flow_step_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Attempts of one step of a flow run before the run fails"
    )
    flow_step_retry_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="Backoff before a failed step's retry (doubled per attempt)"
    )
    flow_step_retry_max_seconds: float = Field(
        default=60.0, ge=0, le=24 * 3600, description="Longest backoff before a failed step's retry"
    )
    flow_resume_after_seconds: int = Field(
        default=900,
        ge=2,
        le=7 * 24 * 3600,
        description="A running flow run with no progress for this long is handed to a worker again (a lost "
        "message); must exceed CELERY_TASK_TIME_LIMIT_SECONDS, so a step still running is not run twice",
    )
    flow_sweep_seconds: float = Field(
        default=30.0, ge=1, le=24 * 3600, description="How often the flows sweeps look for stalled runs, due schedules"
    )
    flow_sweep_limit: int = Field(default=1000, ge=1, le=100_000, description="Most items one flows sweep hands out")

    # --- processes and metrics (issues 12 and 13) ---
    api_workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="uvicorn worker processes of `chronicle serve` (--workers overrides it); default: one per core, "
        "at most 4, on PostgreSQL with Redis, else 1 (more is refused on the embedded store and without Redis)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A bearer token that lets any address read /metrics (at least 32 bytes); without it only "
        "METRICS_ALLOW_IPS may",
    )
    metrics_allow_ips: str = Field(
        default="127.0.0.1,::1",
        max_length=4096,
        description="Addresses or networks (comma-separated) that read /metrics without the token; empty: none",
    )

    # --- flows: the HTTP agent (issue 11, agents) ---
    flow_http_agent_hosts: str = Field(
        default="",
        max_length=4096,
        pattern=r"^\s*([A-Za-z0-9.:\[\]-]+(\s*,\s*[A-Za-z0-9.:\[\]-]+)*)?\s*$",
        description="Host names (comma-separated, no port) the HTTP agent may call; empty: a step using it is refused",
    )

    @property
    def flow_http_agent_host_set(self) -> frozenset[str]:
        """``FLOW_HTTP_AGENT_HOSTS`` as lower-case host names (brackets of IPv6 literals dropped)."""
        names = (h.strip().lower().strip("[]") for h in self.flow_http_agent_hosts.split(","))
        return frozenset(name for name in names if name)

    # --- checks ---------------------------------------------------------------------------

    @field_validator("database_url", "redis_url", "superadmin_email", "superadmin_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, _ = value.partition("://")
        if not sep or scheme not in {"postgresql", "postgres"}:
            raise _refuse("url_scheme", "must be a postgresql:// URL (or unset for the embedded store)")
        try:
            params = conninfo_to_dict(value)
        except psycopg.ProgrammingError as error:
            # libpq's words name the offending part (e.g. 'invalid URI query parameter: "bogus"'), never the password.
            raise _refuse("url_invalid", f"is not a PostgreSQL URL libpq accepts: {str(error).strip()}") from None
        if not params.get("dbname"):
            raise _refuse("url_database", "names no database: postgresql://user:password@host:port/DATABASE")
        for port in str(params.get("port") or "5432").split(","):
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise _refuse("url_port", "has a port that is not a number from 1 to 65535")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise _refuse("url_scheme", "must be a redis:// or rediss:// URL (or unix:// for a socket)")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise _refuse("url_scheme", "must be an http:// or https:// URL")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else ""
        if not secret:
            if info.data.get("database_url"):
                raise _refuse(
                    "secret_missing",
                    "is required with PostgreSQL: at least 32 random bytes, e.g. the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`",
                )
            return None
        if secret in PUBLISHED_SECRETS:
            raise _refuse("secret_published", "is a value published with Chronicle: generate your own")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise _refuse("secret_short", f"is too short: at least {MIN_SECRET_BYTES} bytes of random text")
        return value

    @field_validator("pii_master_key")
    @classmethod
    def _strong_pii_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        key = value.get_secret_value() if value is not None else ""
        if not key:
            if info.data.get("database_url"):
                raise _refuse(
                    "secret_missing",
                    "is required with PostgreSQL: at least 32 random bytes, kept as safely as the database's backups "
                    "(without it no personal field opens)",
                )
            return None
        if key in PUBLISHED_SECRETS:
            raise _refuse("secret_published", "is a value published with Chronicle: generate your own")
        if len(key.encode()) < MIN_SECRET_BYTES:
            raise _refuse("secret_short", f"is too short: at least {MIN_SECRET_BYTES} bytes of random text")
        return value

    @field_validator("two_factor_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        key = value.get_secret_value() if value is not None else ""
        if value is not None and len(key.encode()) < MIN_SECRET_BYTES:
            raise _refuse("secret_short", f"is too short: at least {MIN_SECRET_BYTES} bytes of random text")
        return value

    @field_validator("chain_signing_key")
    @classmethod
    def _usable_signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            signing_key(value.get_secret_value())
        except KeyUnusable as error:
            raise _refuse("key_unusable", str(error)) from None
        return value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _metrics_token(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(secret, str) and len(secret.encode()) < MIN_SECRET_BYTES:
            raise _refuse("secret_short", f"is too short: at least {MIN_SECRET_BYTES} bytes of random text")
        return value

    @field_validator("metrics_allow_ips")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError:
            raise _refuse("networks_invalid", "must be IP addresses or networks, comma-separated") from None
        return value

    @field_validator("refresh_token_ttl_seconds")
    @classmethod
    def _refresh_outlives_access(cls, value: int, info: ValidationInfo) -> int:
        access = info.data.get("access_token_ttl_seconds")
        if access is not None and value <= access:
            raise _refuse("ttl_order", "must be longer than ACCESS_TOKEN_TTL_SECONDS")
        return value

    @field_validator("celery_broker_url", mode="before")
    @classmethod
    def _broker_url(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if value is not None and urlsplit(str(value)).scheme not in {"redis", "rediss", "unix"}:
            raise _refuse("url_scheme", "must be a redis:// or rediss:// URL (or unix:// for a socket)")
        return value

    @field_validator("flow_resume_after_seconds")
    @classmethod
    def _resume_outlasts_tasks(cls, value: int, info: ValidationInfo) -> int:
        limit = info.data.get("celery_task_time_limit_seconds")
        if limit is not None and value <= limit:
            raise _refuse("timeout_order", "must be longer than CELERY_TASK_TIME_LIMIT_SECONDS")
        return value

    @field_validator("celery_visibility_timeout_seconds")
    @classmethod
    def _visibility_outlasts_tasks(cls, value: int, info: ValidationInfo) -> int:
        limit = info.data.get("celery_task_time_limit_seconds")
        if limit is not None and value <= limit:
            raise _refuse("timeout_order", "must be longer than CELERY_TASK_TIME_LIMIT_SECONDS")
        return value

    @field_validator("superadmin_password")
    @classmethod
    def _superadmin_password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("superadmin_email"):
                raise _refuse("superadmin_password_missing", "is required when SUPERADMIN_EMAIL is set")
            return None
        weakness = _weakness(value.get_secret_value()) if info.data.get("database_url") else ""  # embedded: a sandbox
        if weakness:
            raise _refuse("superadmin_password_weak", weakness)
        return value

    @field_validator("dunning_retry_days")
    @classmethod
    def _dunning_days(cls, value: str) -> str:
        days = _days(value)
        if not all(1 <= day <= 60 for day in days) or list(days) != sorted(set(days)):
            raise _refuse("dunning_days", "must be increasing whole days, each from 1 to 60 (e.g. 1,3,5)")
        return value

    # --- what the process runs with -------------------------------------------------------

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def projections_in_process(self) -> bool:
        if self.run_projections_in_process is None:
            return self.embedded
        return self.run_projections_in_process

    @property
    def jobs_run_in_process(self) -> bool:
        if self.jobs_in_process is None:
            return self.embedded
        return self.jobs_in_process

    @property
    def mail_folder(self) -> Path:
        return self.mail_dir or self.data_dir / "mail"

    def signing_ready(self) -> Settings:
        """These settings with a signing secret: ``JWT_SECRET``, or on the embedded store without one the
        random secret kept in the data folder (made on first run, mode 0600, reused after)."""
        if self.jwt_secret is not None:
            return self
        if not self.embedded:  # validation refuses this; settings built without validation must not slip by
            raise StartupRefused("JWT_SECRET: is required with PostgreSQL")
        return self.model_copy(update={"jwt_secret": SecretStr(_kept_secret(self.data_dir / SECRET_FILE))})

    def personal_data_ready(self) -> Settings:
        """These settings with a PII master key: ``PII_MASTER_KEY``, or on the embedded store without one the
        random key kept in the data folder (made on first run, mode 0600, reused after)."""
        if self.pii_master_key is not None:
            return self
        if not self.embedded:
            raise StartupRefused("PII_MASTER_KEY: is required with PostgreSQL")
        kept = _kept_secret(self.data_dir / PII_KEY_FILE, name="PII_MASTER_KEY")
        return self.model_copy(update={"pii_master_key": SecretStr(kept)})

    def personal_data_key(self) -> str:
        """The PII master key (after ``personal_data_ready``)."""
        if self.pii_master_key is None:
            raise StartupRefused("PII_MASTER_KEY: not resolved; call personal_data_ready() first")
        return self.pii_master_key.get_secret_value()

    def signing_secret(self) -> str:
        """The secret tokens are signed with (after ``signing_ready``)."""
        if self.jwt_secret is None:
            raise StartupRefused("JWT_SECRET: not resolved; call signing_ready() first")
        return self.jwt_secret.get_secret_value()

    def checkpoint_signer(self) -> CheckpointSigner | None:
        """The signer of the chain's checkpoints: ``CHAIN_SIGNING_KEY``, on the embedded store without one the
        key kept in the data folder (made on first run, mode 0600), with PostgreSQL without one none."""
        if self.chain_signing_key is not None:
            return CheckpointSigner(signing_key(self.chain_signing_key.get_secret_value()))
        if not self.embedded:
            return None
        kept = _kept_secret(self.data_dir / CHAIN_KEY_FILE, make=new_signing_key_text, name="CHAIN_SIGNING_KEY")
        try:
            return CheckpointSigner(signing_key(kept))
        except KeyUnusable as error:
            raise StartupRefused(f"CHAIN_SIGNING_KEY: {self.data_dir / CHAIN_KEY_FILE} {error}") from None

    def postgres_params(self) -> dict[str, str]:
        """The libpq parameters of ``DATABASE_URL`` (host, port, dbname, user, password, sslmode, ...)."""
        params = {name: str(value) for name, value in conninfo_to_dict(str(self.database_url)).items()}
        params.setdefault("host", "127.0.0.1")
        params.setdefault("port", "5432")
        params.setdefault("user", "postgres")
        params.setdefault("connect_timeout", str(self.database_connect_timeout_seconds))
        return params

    def postgres_conninfo(self) -> str:
        """A libpq connection string for a single connection (the probe at start, LISTEN)."""
        return make_conninfo(**self.postgres_params())

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for this store."""
        # The library's cache (an LRU of this size) fast-forwards every cached aggregate from the store before it
        # is used, and hands out a deep copy: another process's writes are always seen, a failed command
        # leaves nothing behind. The library reads "" as no cache (and "0" as an unbounded one).
        cache = str(self.aggregate_cache_size) if self.aggregate_cache_size else ""
        env = {"AGGREGATE_CACHE_MAXSIZE": cache, "POSTGRES_ENABLE_DB_FUNCTIONS": "no"}
        if self.embedded:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(self.data_dir / "events.sqlite3"))
            env["SQLITE_LOCK_TIMEOUT"] = "10"
            env["APPLICATION_RECORDER_TOPIC"] = "infrastructure.shared.sqlite_store:ChainedSQLiteRecorder"
            return env
        params = self.postgres_params()
        library = {name: params.pop(name, "") for name in _LIBRARY_PARAMS}
        env.update(
            PERSISTENCE_MODULE="infrastructure.shared.event_store:ChronicleFactory",
            POSTGRES_DBNAME=library["dbname"],
            POSTGRES_HOST=library["host"],
            POSTGRES_PORT=library["port"],
            POSTGRES_USER=library["user"],
            POSTGRES_PASSWORD=library["password"],
            # The library's name for how long a checkout waits for a pooled connection.
            POSTGRES_CONNECT_TIMEOUT=str(self.pool_timeout_seconds),
            POSTGRES_POOL_SIZE=str(self.postgres_pool_size),
            POSTGRES_MAX_OVERFLOW=str(self.postgres_max_overflow),
            POSTGRES_PRE_PING="y" if self.postgres_pre_ping else "n",
            POSTGRES_CONNECTION_PARAMETERS=make_conninfo(**params),
            STORE_RETRY_SECONDS=str(self.store_retry_seconds),
        )
        # Both extend the library's recorder (see infrastructure/shared/event_store.py and group_commit.py).
        env["APPLICATION_RECORDER_TOPIC"] = (
            "infrastructure.shared.group_commit:GroupCommitRecorder"
            if self.group_commit
            else "infrastructure.shared.event_store:ChronicleRecorder"
        )
        return env

    def dunning_days(self) -> tuple[int, ...]:
        """``DUNNING_RETRY_DAYS`` as numbers: (1, 3, 5)."""
        return _days(self.dunning_retry_days)

    def free_plan_limits(self) -> dict[str, int]:
        """The free plan's limits as the first start creates it (an unset one is unlimited)."""
        limits = {
            "requests_per_minute": self.free_plan_requests_per_minute,
            "trades_per_day": self.free_plan_trades_per_day,
            "active_flows": self.free_plan_active_flows,
            "open_work_orders": self.free_plan_open_work_orders,
        }
        return {name: value for name, value in limits.items() if value is not None}

    def metrics_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The networks that read /metrics without the token (``METRICS_ALLOW_IPS``)."""
        return parse_networks(self.metrics_allow_ips)

    def workers(self, requested: int | None = None) -> int:
        """How many API worker processes to run: ``requested`` (--workers), else ``API_WORKERS``, else one per
        usable core (at most ``DEFAULT_MAX_WORKERS``) on PostgreSQL with Redis, else 1.

        Refused (``StartupRefused``): several on the embedded store (its projections run in the API process,
        and several processes would each run every one of them against one SQLite file), and several without
        Redis (rate limits and login-failure counts would be kept per process: N times the allowed attempts).
        """
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        default = min(usable, DEFAULT_MAX_WORKERS) if not self.embedded and self.redis_url else 1
        count = requested or self.api_workers or default
        if count > 1 and self.embedded:
            raise StartupRefused("API_WORKERS: the embedded store serves with one worker; set DATABASE_URL for more")
        if count > 1 and not self.redis_url:
            raise StartupRefused(
                "API_WORKERS: several workers need REDIS_URL (without it each would count rate limits and login "
                "failures on its own)"
            )
        return count

    def read_store_url(self) -> str:
        """SQLAlchemy URL of the read models: the same PostgreSQL database, or an embedded file."""
        if self.embedded:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return f"sqlite+pysqlite:///{self.data_dir / 'readmodels.sqlite3'}"
        url = str(self.database_url)
        _, _, rest = url.partition("://")
        # The URL's parameters (sslmode, ...) reach libpq through SQLAlchemy's psycopg dialect as they are.
        if not re.search(r"[?&]connect_timeout=", rest):
            rest += ("&" if "?" in rest else "?") + f"connect_timeout={self.database_connect_timeout_seconds}"
        return f"postgresql+psycopg://{rest}"


def _days(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in value.split(","))


def parse_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` as networks (a bare address is a network of one); ValueError if one is not."""
    return tuple(ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


def _weakness(password: str) -> str:
    """Why ``password`` is too weak for the superadmin of a server, or ''."""
    if password.lower() in PUBLISHED_PASSWORDS:
        return "is a published example value: choose your own"
    if len(password) < MIN_SUPERADMIN_PASSWORD:
        return f"is too short for a superadmin: at least {MIN_SUPERADMIN_PASSWORD} characters"
    if not (re.search(r"[^\W\d_]", password) and re.search(r"\d", password)):
        return "needs at least one letter and one digit"
    return ""


def _kept_secret(path: Path, make: Callable[[], str] | None = None, name: str = "JWT_SECRET") -> str:
    """The secret in ``path``, made (random, mode 0600) if missing; two processes starting at once agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write((make() if make else secrets.token_urlsafe(48)) + "\n")
        try:
            os.link(draft, path)  # atomic, and refuses to replace one another process made meanwhile
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                draft.unlink()
    secret = path.read_text().strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise StartupRefused(f"{name}: {path} holds no usable secret; remove it and a new one is made")
    return secret
