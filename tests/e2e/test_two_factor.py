"""Two-factor login with TOTP over HTTP, on both stores: enrol, confirm, the second login step, recovery, disable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pyotp
import pytest
from fastapi.testclient import TestClient

from domain.accounts.account import Account
from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN, Clock
from tests.e2e.helpers import PASSWORD, bearer, login, verified_account

STEP = timedelta(seconds=30)


class TwoFactorUser:
    """An account with two-factor login on, and what the enrolment answered."""

    def __init__(self, client: TestClient, container: Chronicle, clock: Clock, email: str = "otp@example.com") -> None:
        self.client, self.clock, self.email = client, clock, email
        # The tests move the clock forward by steps; tokens issued "in the future" would not be valid yet.
        clock.advance(minutes=-10)
        self.account_id = verified_account(client, container.settings.mail_folder, email)
        self.headers = bearer(login(client, email))
        enrolled = client.post("/api/v1/auth/2fa/enrol", headers=self.headers)
        assert enrolled.status_code == 200, enrolled.text
        self.enrolment = enrolled.json()
        self.totp = pyotp.TOTP(self.enrolment["secret"])
        confirmed = client.post("/api/v1/auth/2fa/confirm", json={"code": self.code()}, headers=self.headers)
        assert confirmed.status_code == 200, confirmed.text
        self.recovery_codes: list[str] = confirmed.json()["recovery_codes"]
        clock.advance(seconds=30)  # the confirming code's step is used up

    def code(self, steps: int = 0) -> str:
        return self.totp.at(self.clock.now + steps * STEP)

    def challenge(self) -> str:
        response = self.client.post("/api/v1/auth/login", json={"email": self.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["second_factor_required"] is True
        assert "access_token" not in body
        return str(body["challenge"])

    def second_step(self, **answer: str) -> Any:
        return self.client.post("/api/v1/auth/login/2fa", json={"challenge": self.challenge(), **answer})


@pytest.fixture
def user(client: TestClient, container: Chronicle, clock: Clock) -> TwoFactorUser:
    return TwoFactorUser(client, container, clock)


def test_enrolment_answers_the_secret_and_an_otpauth_uri_and_confirming_answers_ten_recovery_codes(
    user: TwoFactorUser,
) -> None:
    assert user.enrolment["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={user.enrolment['secret']}" in user.enrolment["otpauth_uri"]
    assert len(user.recovery_codes) == len(set(user.recovery_codes)) == 10


def test_with_two_factor_on_the_password_gives_a_challenge_and_a_current_code_gives_the_tokens(
    user: TwoFactorUser, client: TestClient
) -> None:
    response = user.second_step(code=user.code())

    assert response.status_code == 200, response.text
    tokens = response.json()
    me = client.get("/api/v1/auth/me", params={"min_position": tokens["position"]}, headers=bearer(tokens))
    assert me.status_code == 200
    assert me.json()["email"] == user.email


def test_a_code_of_the_step_before_or_after_is_accepted_and_one_two_steps_away_is_not(user: TwoFactorUser) -> None:
    assert user.second_step(code=user.code(+1)).status_code == 200
    user.clock.advance(seconds=90)
    assert user.second_step(code=user.code(-1)).status_code == 200
    user.clock.advance(seconds=90)

    refused = user.second_step(code=user.code(-2))

    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_second_factor"


def test_a_code_is_not_accepted_twice(user: TwoFactorUser) -> None:
    code = user.code()
    first = user.second_step(code=code)

    replayed = user.second_step(code=code)

    assert first.status_code == 200
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "invalid_second_factor"


def test_the_confirming_code_does_not_log_in(client: TestClient, container: Chronicle, clock: Clock) -> None:
    user = TwoFactorUser(client, container, clock)
    clock.advance(seconds=-30)  # back into the step of the code that confirmed

    assert user.second_step(code=user.code()).status_code == 401


def test_a_recovery_code_works_once(user: TwoFactorUser) -> None:
    first = user.second_step(recovery_code=user.recovery_codes[0])
    again = user.second_step(recovery_code=user.recovery_codes[0])
    another = user.second_step(recovery_code=user.recovery_codes[1].upper())

    assert first.status_code == 200, first.text
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_second_factor"
    assert another.status_code == 200


def test_wrong_codes_count_as_failed_logins_and_lock_the_account(user: TwoFactorUser, container: Chronicle) -> None:
    wrong = f"{(int(user.code()) + 1) % 1_000_000:06d}"
    answers = [user.client.post("/api/v1/auth/login/2fa", json={"challenge": user.challenge(), "code": wrong})]
    for _ in range(4):
        answers.append(user.second_step(code=wrong))

    locked = user.client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})

    assert [a.status_code for a in answers] == [401] * 5
    assert locked.status_code == 423
    assert container.accounts.load(UUID(user.account_id), Account).locked_until is not None


def test_a_forged_challenge_is_refused(user: TwoFactorUser) -> None:
    forged = user.challenge()[:-4] + "AAAA"

    response = user.client.post("/api/v1/auth/login/2fa", json={"challenge": forged, "code": user.code()})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_login_challenge"


def test_a_challenge_expires(user: TwoFactorUser) -> None:
    challenge = user.challenge()
    user.clock.advance(minutes=5, seconds=1)

    response = user.client.post("/api/v1/auth/login/2fa", json={"challenge": challenge, "code": user.code()})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_login_challenge"


def test_disabling_needs_the_password_and_a_code_and_then_the_password_alone_logs_in(user: TwoFactorUser) -> None:
    client = user.client
    wrong_password = client.post(
        "/api/v1/auth/2fa/disable", json={"password": "not-it-9", "code": user.code()}, headers=user.headers
    )
    disabled = client.post(
        "/api/v1/auth/2fa/disable", json={"password": PASSWORD, "code": user.code()}, headers=user.headers
    )

    assert wrong_password.status_code == 401
    assert disabled.status_code == 200, disabled.text
    assert "access_token" in login(client, user.email)


def test_the_oauth2_token_route_gives_a_challenge_with_two_factor_on_and_tokens_without(
    user: TwoFactorUser, client: TestClient, container: Chronicle
) -> None:
    verified_account(client, container.settings.mail_folder, "plain@example.com")

    with_2fa = client.post("/api/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    without = client.post("/api/v1/auth/token", data={"username": "plain@example.com", "password": PASSWORD})

    assert with_2fa.status_code == 200
    assert with_2fa.json()["second_factor_required"] is True
    assert without.status_code == 200
    assert without.json()["token_type"] == "bearer"


def test_enrolment_confirmation_recovery_and_disabling_are_events_in_the_accounts_history(
    user: TwoFactorUser, client: TestClient
) -> None:
    user.second_step(recovery_code=user.recovery_codes[0])
    client.post("/api/v1/auth/2fa/disable", json={"password": PASSWORD, "code": user.code()}, headers=user.headers)
    admin = bearer(login(client, *SUPERADMIN))

    events = client.get(f"/api/v1/audit/streams/{user.account_id}/events", headers=admin).json()["events"]

    types = [e["type"] for e in events]
    for kind in ("TwoFactorEnrolled", "TwoFactorEnabled", "SecondFactorChallenged", "RecoveryCodeUsed"):
        assert f"Account.{kind}" in types or kind in types, types
    assert types[-1].endswith("TwoFactorDisabled")


def test_no_secret_or_recovery_code_is_stored_in_clear_or_shown_to_auditors(
    user: TwoFactorUser, client: TestClient, container: Chronicle
) -> None:
    user.second_step(recovery_code=user.recovery_codes[0])
    admin = bearer(login(client, *SUPERADMIN))
    secrets_in_clear = [
        user.enrolment["secret"],
        *user.recovery_codes,
        *(c.replace("-", "") for c in user.recovery_codes),
    ]
    hashes = [container.accounts.second_factor.recovery_code_hash(c) for c in user.recovery_codes]

    stored = b"".join(n.state for n in container.log.recorder.select_notifications(start=1, limit=100_000))
    audit = "".join(
        client.get(f"/api/v1/audit/streams/{user.account_id}/{what}", headers=admin).text
        for what in ("events", "state")
    )

    assert [s for s in secrets_in_clear if s.encode() in stored] == []
    assert [s for s in [*secrets_in_clear, *hashes] if s in audit] == []
    assert hashes[0].encode() in stored  # the keyed hashes are what the history holds


def test_the_own_accounts_version_follows_the_two_factor_events(user: TwoFactorUser, client: TestClient) -> None:
    challenge = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}).json()

    me = client.get("/api/v1/auth/me", params={"min_position": challenge["position"]}, headers=user.headers)

    assert me.status_code == 200
    assert me.json()["version"] == challenge["version"]
    assert me.headers["ETag"] == f'"{challenge["version"]}"'
