"""The Accounts application over the in-memory store, with a hasher that counts its work."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.accounts.application import AccountsApplication, AccountsConfig
from application.shared.commands import CommandContext
from domain.accounts.account import Account
from domain.accounts.errors import InvalidCredentials
from domain.accounts.values import Profile
from tests.unit.builders import NOW


class CountingHasher:
    """A fast stand-in for argon2 that counts verifications."""

    def __init__(self) -> None:
        self.verifications = 0

    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return password_hash == f"hashed:{password}"


CTX = CommandContext(actor="test", correlation_id="c", causation_id="c", now=NOW)


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def app(hasher: CountingHasher) -> AccountsApplication:
    return AccountsApplication(
        hasher, AccountsConfig(auto_verify_email=True), env={"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )


def test_a_login_with_an_unknown_email_spends_a_password_verification_like_a_known_one(
    app: AccountsApplication, hasher: CountingHasher
) -> None:
    with pytest.raises(InvalidCredentials):
        app.log_in(CTX, email="nobody@example.com", password="whatever1")

    assert hasher.verifications == 1


def test_a_login_with_a_wrong_password_is_recorded_as_a_failure(app: AccountsApplication) -> None:
    result = app.register_account(CTX, email="ada@example.com", password="s3cretpass", profile=Profile("Ada", "L"))

    with pytest.raises(InvalidCredentials):
        app.log_in(CTX, email="ADA@example.com", password="wrong-pass1")

    account = app.load(result.id, Account)
    assert account.failed_logins == 1
    assert account.version == result.version + 1


def test_an_active_accounts_standing_is_active_with_its_roles(app: AccountsApplication) -> None:
    result = app.register_account(
        CTX, email="ada@example.com", password="s3cretpass", profile=Profile("Ada", "L"), roles=["operator"]
    )

    standing = app.standing(result.id)

    assert standing is not None
    assert standing.active is True
    assert "operator" in standing.roles


def test_a_suspended_accounts_standing_is_not_active(app: AccountsApplication) -> None:
    result = app.register_account(
        CTX, email="ada@example.com", password="s3cretpass", profile=Profile("Ada", "L"), roles=["operator"]
    )
    app.suspend_account(CTX, result.id, reason="fraud check")

    standing = app.standing(result.id)

    assert standing is not None
    assert standing.active is False


def test_an_unknown_account_has_no_standing(app: AccountsApplication) -> None:
    assert app.standing(uuid4()) is None
