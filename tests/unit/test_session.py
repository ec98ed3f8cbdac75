"""The Session aggregate: one refresh-token family that rotates, detects reuse, expires and is revoked."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.accounts.session import RefreshTokenReused, Session, SessionExpired, SessionRevoked
from tests.unit.builders import ACCOUNT_ID, NOW, SESSION_ID

FIRST_TOKEN = UUID("00000000-0000-4000-8000-00000000f001")
SECOND_TOKEN = UUID("00000000-0000-4000-8000-00000000f002")
THIRD_TOKEN = UUID("00000000-0000-4000-8000-00000000f003")
TTL = timedelta(days=14)


def a_session() -> Session:
    session = Session.start(
        session_id=SESSION_ID, account_id=ACCOUNT_ID, token_id=FIRST_TOKEN, expires_at=NOW + TTL, now=NOW
    )
    session.collect_events()
    return session


def a_rotated_session() -> Session:
    session = a_session()
    session.rotate(presented=FIRST_TOKEN, new_token_id=SECOND_TOKEN, expires_at=NOW + 2 * TTL, now=NOW + TTL / 2)
    session.collect_events()
    return session


def a_revoked_session() -> Session:
    session = a_session()
    session.revoke(reason="logout", now=NOW)
    session.collect_events()
    return session


def test_a_started_session_holds_its_first_token_and_is_not_revoked() -> None:
    session = Session.start(
        session_id=SESSION_ID, account_id=ACCOUNT_ID, token_id=FIRST_TOKEN, expires_at=NOW + TTL, now=NOW
    )

    assert session.token_id == FIRST_TOKEN
    assert session.account_id == ACCOUNT_ID
    assert session.expires_at == NOW + TTL
    assert session.revoked is False
    assert [type(e) for e in session.collect_events()] == [Session.Started]


def test_rotating_with_the_current_token_makes_the_new_token_current_and_extends_expiry() -> None:
    session = a_session()

    session.rotate(presented=FIRST_TOKEN, new_token_id=SECOND_TOKEN, expires_at=NOW + 2 * TTL, now=NOW + TTL / 2)

    assert session.token_id == SECOND_TOKEN
    assert session.expires_at == NOW + 2 * TTL
    assert [type(e) for e in session.collect_events()] == [Session.Rotated]


def test_a_rotated_session_can_rotate_past_its_first_expiry() -> None:
    session = a_rotated_session()

    session.rotate(presented=SECOND_TOKEN, new_token_id=THIRD_TOKEN, expires_at=NOW + 3 * TTL, now=NOW + TTL)

    assert session.token_id == THIRD_TOKEN


def test_rotating_with_a_superseded_token_is_a_reuse_and_changes_nothing() -> None:
    session = a_rotated_session()

    with pytest.raises(RefreshTokenReused):
        session.rotate(presented=FIRST_TOKEN, new_token_id=THIRD_TOKEN, expires_at=NOW + 3 * TTL, now=NOW + TTL)

    assert session.token_id == SECOND_TOKEN
    assert session.collect_events() == []


def test_a_superseded_token_is_a_reuse_and_the_current_one_is_not() -> None:
    session = a_rotated_session()

    assert session.is_reuse(FIRST_TOKEN) is True
    assert session.is_reuse(SECOND_TOKEN) is False


def test_no_token_of_a_revoked_session_counts_as_a_reuse() -> None:
    session = a_revoked_session()

    assert session.is_reuse(SECOND_TOKEN) is False


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1)], ids=["at-expiry", "after-expiry"])
def test_an_expired_session_cannot_rotate(late: timedelta) -> None:
    session = a_session()

    with pytest.raises(SessionExpired):
        session.rotate(presented=FIRST_TOKEN, new_token_id=SECOND_TOKEN, expires_at=NOW + 2 * TTL, now=NOW + TTL + late)

    assert session.token_id == FIRST_TOKEN


def test_a_revoked_session_cannot_rotate_even_with_its_current_token() -> None:
    session = a_revoked_session()

    with pytest.raises(SessionRevoked):
        session.rotate(presented=FIRST_TOKEN, new_token_id=SECOND_TOKEN, expires_at=NOW + TTL, now=NOW)

    assert session.token_id == FIRST_TOKEN


def test_revoking_records_the_reason() -> None:
    session = a_session()

    session.revoke(reason="logout", now=NOW)

    events = session.collect_events()
    assert [type(e) for e in events] == [Session.Revoked]
    assert session.revoked is True
    assert session.revoked_reason == "logout"


def test_revoking_a_revoked_session_emits_nothing_and_keeps_the_first_reason() -> None:
    session = a_revoked_session()

    session.revoke(reason="refresh_token_reused", now=NOW)

    assert session.collect_events() == []
    assert session.revoked_reason == "logout"
