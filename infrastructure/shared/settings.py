"""Configuration from the environment (pydantic-settings); every field has a working default."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "chronicle-dev-secret-change-me-0123456789"  # noqa: S105 - development default, documented


class Settings(BaseSettings):
    """Chronicle's settings. Unset ``DATABASE_URL`` means the embedded SQLite store."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(default=None, description="postgresql://user:pass@host:port/db")
    data_dir: Path = Path("data")
    redis_url: str | None = None

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600

    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    auto_verify_email: bool = False
    verification_ttl_hours: int = 24
    reset_ttl_minutes: int = 60

    two_factor_key: SecretStr | None = Field(
        default=None,
        description="Master key of two-factor login: TOTP seeds are sealed (AES-GCM) and recovery codes hashed "
        "(HMAC-SHA256) with keys derived from it by HKDF; default: JWT_SECRET. Changing it voids every enrolment",
    )
    two_factor_issuer: str = Field(default="Chronicle", description="The issuer authenticator apps show")
    login_challenge_ttl_seconds: int = Field(
        default=300, description="How long the second login step may follow the password"
    )

    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 2

    mail_dir: Path | None = None
    public_base_url: str = "http://127.0.0.1:8000"

    superadmin_email: str | None = None
    superadmin_password: SecretStr | None = None

    read_your_writes_timeout_seconds: float = 2.0
    run_projections_in_process: bool | None = Field(
        default=None, description="Default: in-process for the embedded store, separate workers for PostgreSQL"
    )
    projection_batch_size: int = 2000
    projection_poll_seconds: float = 1.0
    ready_max_lag: int = 10_000

    group_commit: bool = Field(
        default=True, description="Concurrent commands share one insert transaction and commit (PostgreSQL)"
    )
    postgres_pre_ping: bool = Field(
        default=False,
        description="Ping each pooled connection before use (a round trip per checkout); the recorder already "
        "retries a failed statement on a fresh connection",
    )
    read_pool_size: int = Field(
        default=40,
        description="Read-store connections kept (opened on demand): one per request thread, and the API runs up "
        "to 40 (anyio's default); fewer made the pool open and close connections under load",
    )
    postgres_pool_size: int = 10
    postgres_max_overflow: int = 10

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def projections_in_process(self) -> bool:
        if self.run_projections_in_process is None:
            return self.embedded
        return self.run_projections_in_process

    @property
    def mail_folder(self) -> Path:
        return self.mail_dir or self.data_dir / "mail"

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for this store."""
        env = {"AGGREGATE_CACHE_MAXSIZE": "", "POSTGRES_ENABLE_DB_FUNCTIONS": "no"}
        if self.embedded:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(self.data_dir / "events.sqlite3"))
            env["SQLITE_LOCK_TIMEOUT"] = "10"
            return env
        url = urlsplit(str(self.database_url))
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=url.path.lstrip("/") or "postgres",
            POSTGRES_HOST=url.hostname or "127.0.0.1",
            POSTGRES_PORT=str(url.port or 5432),
            POSTGRES_USER=unquote(url.username or "postgres"),
            POSTGRES_PASSWORD=unquote(url.password or ""),
            POSTGRES_POOL_SIZE=str(self.postgres_pool_size),
            POSTGRES_MAX_OVERFLOW=str(self.postgres_max_overflow),
            POSTGRES_PRE_PING="y" if self.postgres_pre_ping else "n",
        )
        # Both extend the library's recorder (see infrastructure/shared/event_store.py and group_commit.py).
        env["APPLICATION_RECORDER_TOPIC"] = (
            "infrastructure.shared.group_commit:GroupCommitRecorder"
            if self.group_commit
            else "infrastructure.shared.event_store:ChronicleRecorder"
        )
        return env

    def read_store_url(self) -> str:
        """SQLAlchemy URL of the read models: the same PostgreSQL database, or an embedded file."""
        if self.embedded:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return f"sqlite+pysqlite:///{self.data_dir / 'readmodels.sqlite3'}"
        url = str(self.database_url)
        scheme, _, rest = url.partition("://")
        return f"postgresql+psycopg://{rest}" if scheme in {"postgres", "postgresql"} else url
