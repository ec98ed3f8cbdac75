"""Settings: the embedded store's own signing secret, and what a server's settings must hold."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from infrastructure.shared.settings import DEV_JWT_SECRET, PII_KEY_FILE, SECRET_FILE, Settings
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY

SERVER_URL = "postgresql://chronicle@db.example:5432/chronicle"


def embedded(data_dir: Path) -> Settings:
    return Settings(database_url=None, data_dir=data_dir, jwt_secret=None, _env_file=None)  # type: ignore[call-arg]


def test_the_embedded_store_makes_a_random_secret_readable_only_by_its_owner_on_first_run(tmp_path: Path) -> None:
    secret = embedded(tmp_path / "data").signing_ready().signing_secret()

    path = tmp_path / "data" / SECRET_FILE
    assert path.read_text().strip() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret.encode()) >= 32 and secret != DEV_JWT_SECRET
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no draft left behind


def test_the_embedded_store_signs_with_the_same_secret_on_later_runs(tmp_path: Path) -> None:
    first = embedded(tmp_path / "data").signing_ready().signing_secret()

    again = embedded(tmp_path / "data").signing_ready().signing_secret()

    assert again == first


def test_two_embedded_stores_get_different_secrets(tmp_path: Path) -> None:
    one = embedded(tmp_path / "one").signing_ready().signing_secret()
    other = embedded(tmp_path / "other").signing_ready().signing_secret()

    assert one != other


def test_a_configured_secret_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    settings = Settings(database_url=None, data_dir=tmp_path / "data", jwt_secret=TEST_JWT_SECRET, _env_file=None)  # type: ignore[arg-type, call-arg]

    assert settings.signing_ready().signing_secret() == TEST_JWT_SECRET
    assert not (tmp_path / "data").exists()


def test_a_server_with_a_strong_secret_and_superadmin_password_is_accepted() -> None:
    settings = Settings(
        database_url=SERVER_URL,
        jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
        pii_master_key=TEST_PII_MASTER_KEY,  # type: ignore[arg-type]
        superadmin_email="boss@example.com",
        superadmin_password="a-long-Passphrase-42",  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )

    assert settings.signing_secret() == TEST_JWT_SECRET


@pytest.mark.parametrize("password", ["ChangeMe123", "Sup3rSecret", "short-Pass1", "no-digits-in-this-one"])
def test_a_server_refuses_a_weak_or_published_superadmin_password(password: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            database_url=SERVER_URL,
            jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
            pii_master_key=TEST_PII_MASTER_KEY,  # type: ignore[arg-type]
            superadmin_email="boss@example.com",
            superadmin_password=password,  # type: ignore[arg-type]
            _env_file=None,  # type: ignore[call-arg]
        )

    assert [error["loc"] for error in refused.value.errors()] == [("superadmin_password",)]


def test_the_urls_connection_parameters_are_kept_for_the_event_store() -> None:
    settings = Settings(
        database_url=f"{SERVER_URL}?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=api",
        jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
        pii_master_key=TEST_PII_MASTER_KEY,  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )

    env = settings.event_store_env()

    parameters = env["POSTGRES_CONNECTION_PARAMETERS"]
    for kept in ("sslmode=verify-full", "sslrootcert=/etc/ca.pem", "application_name=api", "connect_timeout=3"):
        assert kept in parameters
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("db.example", "5432", "chronicle")
    assert "sslmode=verify-full" in settings.read_store_url()


def test_the_embedded_store_makes_its_own_pii_master_key_once_readable_only_by_its_owner(tmp_path: Path) -> None:
    first = embedded(tmp_path / "data").personal_data_ready().personal_data_key()
    again = embedded(tmp_path / "data").personal_data_ready().personal_data_key()

    path = tmp_path / "data" / PII_KEY_FILE
    assert path.read_text().strip() == first == again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.encode()) >= 32
    assert first != embedded(tmp_path / "other").personal_data_ready().personal_data_key()


@pytest.mark.parametrize(
    ("key", "code"), [(None, "secret_missing"), ("x" * 31, "secret_short"), (DEV_JWT_SECRET, "secret_published")]
)
def test_a_server_refuses_a_missing_short_or_published_pii_master_key(key: str | None, code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            database_url=SERVER_URL,
            jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
            pii_master_key=key,  # type: ignore[arg-type]
            _env_file=None,  # type: ignore[call-arg]
        )

    assert [(error["loc"], error["type"]) for error in refused.value.errors()] == [(("pii_master_key",), code)]
