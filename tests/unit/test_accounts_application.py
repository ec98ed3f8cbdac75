"""The Accounts application over the in-memory store, with a hasher that counts its work."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.accounts.application import AccountsApplication, AccountsConfig
from application.shared.commands import CommandContext
from domain.accounts.account import Account
from domain.accounts.errors import InvalidCredentials
from domain.accounts.values import Profile
from domain.shared.errors import DomainError
from infrastructure.accounts.login_failures import MemoryLoginFailures, RedisLoginFailures
from infrastructure.accounts.two_factor import TotpKeys
from infrastructure.shared.breaker import Breaker
from infrastructure.shared.personal_data import MemoryKeyStore, PersonalDataKeys
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


def memory_keys() -> PersonalDataKeys:
    return PersonalDataKeys("a-test-pii-master-key-of-some-length", MemoryKeyStore())


@pytest.fixture
def app(hasher: CountingHasher) -> AccountsApplication:
    keys = memory_keys()
    app = AccountsApplication(
        hasher,
        AccountsConfig(auto_verify_email=True),
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        second_factor=TotpKeys("a-test-master-key-of-some-length"),
        failures=MemoryLoginFailures(),
        keys=keys,
    )
    app.metadata_mapper.personal = keys
    return app


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


def _failed_logins(app: AccountsApplication, email: str, attempts: int) -> list[str]:
    outcomes = []
    for _ in range(attempts):
        try:
            app.log_in(CTX, email=email, password="wrong-pass1")
        except DomainError as error:
            outcomes.append(error.code)
    return outcomes


def test_an_unknown_email_is_locked_after_as_many_failures_as_a_known_one(app: AccountsApplication) -> None:
    app.register_account(CTX, email="ada@example.com", password="s3cretpass", profile=Profile("Ada", "L"))

    known = _failed_logins(app, "ada@example.com", 7)
    unknown = _failed_logins(app, "nobody@example.com", 7)

    assert known == unknown == ["invalid_credentials"] * 5 + ["account_locked"] * 2


def test_a_closed_accounts_email_is_answered_and_counted_like_an_unknown_one(
    app: AccountsApplication, hasher: CountingHasher
) -> None:
    result = app.register_account(CTX, email="ada@example.com", password="s3cretpass", profile=Profile("Ada", "L"))
    app.close_account(CTX, result.id, reason="left")
    before = hasher.verifications

    outcomes = _failed_logins(app, "ada@example.com", 7)

    assert outcomes == ["invalid_credentials"] * 5 + ["account_locked"] * 2
    assert hasher.verifications - before == 7
    assert app.load(result.id, Account).failed_logins == 0  # a closed account's history takes no more events


def test_an_unknown_emails_failures_are_kept_under_a_keyed_hash_not_the_address(app: AccountsApplication) -> None:
    failures = MemoryLoginFailures()
    counter = RedisLoginFailures(lambda: None, b"k" * 32, Breaker("Redis", 5), fallback=failures)

    assert "nobody@example.com" not in counter._redis_key("nobody@example.com")
    assert counter._redis_key("nobody@example.com") != RedisLoginFailures(
        lambda: None, b"j" * 32, Breaker("Redis", 5)
    )._redis_key("nobody@example.com")
