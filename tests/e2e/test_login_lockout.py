"""Defect 8: the lockout does not tell which emails have an account (status, body, headers, hashing work, timing)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from infrastructure.accounts.security import Argon2PasswordHasher
from infrastructure.root import Adapters, Chronicle
from infrastructure.shared.settings import Settings
from interfaces.http.app import create_app
from tests.conftest import Clock
from tests.e2e.helpers import verified_account

ATTEMPTS = 7
WRONG = "wrong-pass1"
# Headers that differ per request by design.
# What differs per request, and the rate limiter's remaining counts: those follow the client address
# (which registered the known account first), never the email tried.
PER_REQUEST_HEADERS = {"x-request-id", "date", "retry-after", "ratelimit"}


class CountingHasher(Argon2PasswordHasher):
    """The real argon2 hasher, counting the verifications it does."""

    def __init__(self, time_cost: int, memory_cost_kib: int) -> None:
        super().__init__(time_cost, memory_cost_kib, 1)
        self.verifications = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


def _counting_client(settings: Settings, clock: Clock, hasher: CountingHasher) -> Iterator[TestClient]:
    container = Chronicle(settings, clock=clock, adapters=Adapters(hasher=hasher))
    container.start()
    try:
        with TestClient(create_app(root=container), raise_server_exceptions=False) as client:
            yield client
    finally:
        container.close()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher(time_cost=1, memory_cost_kib=1024)


@pytest.fixture
def counted(settings: Settings, clock: Clock, hasher: CountingHasher) -> Iterator[TestClient]:
    yield from _counting_client(settings, clock, hasher)


def _attempt(client: TestClient, email: str, password: str = WRONG) -> Response:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def _seen(response: Response) -> dict[str, Any]:
    """What a client sees of a failed login, minus what differs per request."""
    body = response.json()
    body.pop("request_id", None)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in PER_REQUEST_HEADERS}
    return {
        "status": response.status_code,
        "body": body,
        "headers": headers,
        "retry": "retry-after" in response.headers,
    }


def _emails(client: TestClient, mail_dir: Path) -> tuple[str, str]:
    known, unknown = f"known-{uuid4().hex[:8]}@example.com", f"unknown-{uuid4().hex[:8]}@example.com"
    verified_account(client, mail_dir, known)
    return known, unknown


def test_a_known_and_an_unknown_email_see_the_same_answers_through_the_lockout(
    counted: TestClient, settings: Settings
) -> None:
    known, unknown = _emails(counted, settings.mail_folder)

    answers = [(_attempt(counted, known), _attempt(counted, unknown)) for _ in range(ATTEMPTS)]

    assert [_seen(k) for k, _ in answers] == [_seen(u) for _, u in answers]
    assert [k.status_code for k, _ in answers] == [401] * 5 + [423] * 2
    for known_answer, unknown_answer in answers[5:]:
        # Retry-After counts down in whole seconds of the server's clock: the two answers are
        # moments apart, so they may straddle a second.
        assert abs(int(known_answer.headers["Retry-After"]) - int(unknown_answer.headers["Retry-After"])) <= 1
        assert int(known_answer.headers["Retry-After"]) > 14 * 60


def test_a_known_and_an_unknown_email_cost_the_same_password_verifications_through_the_lockout(
    counted: TestClient, settings: Settings, hasher: CountingHasher
) -> None:
    known, unknown = _emails(counted, settings.mail_folder)
    spent = []
    for email in (known, unknown):
        before = hasher.verifications
        for _ in range(ATTEMPTS):
            _attempt(counted, email)
        spent.append(hasher.verifications - before)

    assert spent == [ATTEMPTS, ATTEMPTS]


def test_an_unknown_email_is_unlocked_after_the_lockout_like_a_known_one(
    counted: TestClient, settings: Settings, clock: Clock
) -> None:
    known, unknown = _emails(counted, settings.mail_folder)
    for _ in range(5):
        _attempt(counted, known), _attempt(counted, unknown)
    clock.advance(minutes=15, seconds=1)

    assert (_attempt(counted, known).status_code, _attempt(counted, unknown).status_code) == (401, 401)


@pytest.mark.parametrize("store", ["embedded"])
def test_while_locked_a_known_and_an_unknown_email_take_about_as_long(
    store: str, settings: Settings, clock: Clock
) -> None:
    # A realistic hash cost, so that skipping the hash for a locked account would show in the medians.
    hasher = CountingHasher(time_cost=2, memory_cost_kib=32 * 1024)
    for client in _counting_client(settings, clock, hasher):
        known, unknown = _emails(client, settings.mail_folder)
        for _ in range(5):
            _attempt(client, known), _attempt(client, unknown)
        timings: dict[str, list[float]] = {known: [], unknown: []}
        for _ in range(7):
            for email in (known, unknown):
                started = time.perf_counter()
                _attempt(client, email)
                timings[email].append(time.perf_counter() - started)

    known_median, unknown_median = statistics.median(timings[known]), statistics.median(timings[unknown])
    assert max(known_median, unknown_median) < 3 * min(known_median, unknown_median), timings
