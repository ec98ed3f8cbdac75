"""Bearer tokens are trusted for who they name, never for what they claim (issue 9, defects 2 and 9).

Roles and status always come from the account's state in the read model; a token naming an account
or session the read model does not know is waited for up to the log position that issued it, and is
401 otherwise. An invalid token is answered in our words, never pyjwt's.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import jwt
import pytest
from fastapi.testclient import TestClient

from infrastructure.root import Chronicle
from tests.conftest import SUPERADMIN
from tests.e2e.helpers import bearer, login, verified_account
from tests.e2e.projection_hold import hold_back
from tests.e2e.workshop import order_body


def _secret(container: Chronicle) -> str:
    """The secret the server signs with: a forger who knows it (e.g. the published default) signs validly."""
    return container.settings.jwt_secret.get_secret_value()


def forged(container: Chronicle, **claims: Any) -> dict[str, str]:
    now = datetime.now(UTC)
    payload = {
        "typ": "access",
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "roles": ["admin"],
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **claims,
    }
    return {"Authorization": f"Bearer {jwt.encode(payload, _secret(container), algorithm='HS256')}"}


def _guarded_calls(client: TestClient, headers: dict[str, str], stream_id: str) -> dict[str, Any]:
    return {
        "me": client.get("/api/v1/auth/me", headers=headers),
        "accounts": client.get("/api/v1/accounts", headers=headers),
        "audit": client.get(f"/api/v1/audit/streams/{stream_id}/events", headers=headers),
        "create": client.post("/api/v1/work-orders", json=order_body("WO-FORGED"), headers=headers),
    }


def test_a_validly_signed_token_for_an_unknown_account_with_an_admin_roles_claim_is_401_everywhere(
    client: TestClient, container: Chronicle
) -> None:
    admin = login(client, *SUPERADMIN)
    head = container.head_position()
    without_position = forged(container)
    # Claiming a position the log has (the projection is past it) does not make the account exist either.
    with_position = forged(container, pos=head)

    for headers in (without_position, with_position):
        answers = _guarded_calls(client, headers, admin["id"])
        assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 401)
        assert {r.json()["code"] for r in answers.values()} == {"unknown_account"}


def test_a_token_for_a_real_admin_with_a_session_that_does_not_exist_is_401(
    client: TestClient, container: Chronicle
) -> None:
    admin = login(client, *SUPERADMIN)
    # The real token waits until the read model knows the admin (and its session); the forged one then
    # names a known account with a session that does not exist.
    assert client.get("/api/v1/auth/me", headers=bearer(admin)).status_code == 200

    answers = _guarded_calls(client, forged(container, sub=admin["id"]), admin["id"])

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 401)
    assert {r.json()["code"] for r in answers.values()} == {"unknown_session"}


def test_a_token_claiming_a_position_beyond_the_log_is_refused_at_once(
    client: TestClient, container: Chronicle
) -> None:
    response = client.get("/api/v1/auth/me", headers=forged(container, pos=container.head_position() + 10**9))

    assert response.status_code == 401
    assert response.json()["code"] == "unknown_account"


def test_the_roles_claim_grants_nothing_to_a_known_account(client: TestClient, container: Chronicle) -> None:
    account_id = verified_account(client, container.settings.mail_folder, "plain@example.com")
    tokens = login(client, "plain@example.com")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    inflated = forged(container, sub=account_id, sid=claims["sid"], pos=claims["pos"], roles=["admin"])

    response = client.get("/api/v1/accounts", headers=inflated)

    assert "roles" not in claims
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_a_fresh_login_works_while_the_accounts_projection_runs_behind(
    client: TestClient, container: Chronicle
) -> None:
    verified_account(client, container.settings.mail_folder, "fresh@example.com")
    answers: dict[str, Any] = {}
    with hold_back(container, "accounts") as gate:
        tokens = login(client, "fresh@example.com")
        assert container.board.known("accounts") < tokens["position"]  # the login is not projected yet
        request = threading.Thread(
            target=lambda: answers.setdefault("me", client.get("/api/v1/auth/me", headers=bearer(tokens)))
        )
        request.start()
        gate.release_when_waited_on()
    request.join(timeout=10)

    assert answers["me"].status_code == 200, answers["me"].text
    assert answers["me"].json()["email"] == "fresh@example.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# Three segments whose base64 decodes to bytes that are not UTF-8 (pyjwt: "'utf-8' codec can't decode byte 0xb7").
NON_UTF8 = ".".join(_b64(part) for part in (b"\xb7\xff\xfe", b"\xb7\xb7", b"x"))


def _garbage_tokens(container: Chronicle, refresh_token: str) -> dict[str, tuple[str, str]]:
    """Token, and the words its problem detail must say; none of them may carry a library's message."""
    now = datetime.now(UTC)
    claims = {"typ": "access", "sub": str(uuid4()), "sid": str(uuid4()), "exp": now + timedelta(minutes=5)}
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps({**claims, "exp": int(claims["exp"].timestamp())}).encode())  # type: ignore[attr-defined]
    return {
        "non-utf-8 segments": (NON_UTF8, "malformed"),
        "not a jwt": ("hello", "malformed"),
        "alg none": (f"{unsigned}.{body}.", "signature"),
        "wrong alg": (jwt.encode(claims, _secret(container) * 2, algorithm="HS512"), "signature"),
        "other secret": (jwt.encode(claims, "someone-elses-secret-0123456789abcdef", algorithm="HS256"), "signature"),
        "tampered": (f"{header}.{body}.{_b64(b'not-the-mac')}", "signature"),
        "expired": (jwt.encode({**claims, "exp": now - timedelta(seconds=30)}, _secret(container)), "expired"),
        "refresh as access": (refresh_token, "not an access token"),
        "bad claims": (jwt.encode({**claims, "sub": "nobody"}, _secret(container)), "malformed"),
        "bad position": (jwt.encode({**claims, "pos": "soon"}, _secret(container)), "malformed"),
    }


LIBRARY_WORDS = ("codec", "decode", "byte", "Signature verification", "alg value", "padding", "Invalid", "Expecting")


def test_invalid_access_tokens_are_401_with_our_words_only(client: TestClient, container: Chronicle) -> None:
    tokens = login(client, *SUPERADMIN)

    for case, (token, words) in _garbage_tokens(container, tokens["refresh_token"]).items():
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        problem = response.json()
        assert response.status_code == 401, case
        assert problem["code"] == "invalid_token", case
        assert words in problem["detail"], (case, problem["detail"])
        assert not any(word in problem["detail"] for word in LIBRARY_WORDS), (case, problem["detail"])


@pytest.mark.parametrize("store", ["embedded"], indirect=False)
def test_invalid_refresh_tokens_are_401_with_our_words_only(client: TestClient, container: Chronicle) -> None:
    tokens = login(client, *SUPERADMIN)
    cases = {
        "non-utf-8": (NON_UTF8, "malformed"),
        "access as refresh": (tokens["access_token"], "not a refresh token"),
    }

    for case, (token, words) in cases.items():
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 401, case
        assert words in response.json()["detail"], (case, response.json()["detail"])
        assert not any(word in response.json()["detail"] for word in LIBRARY_WORDS), case
