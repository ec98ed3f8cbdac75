"""Webhook signatures (Stripe's scheme): HMAC-SHA256 over "{t}.{body}", refused when bad, malformed or stale."""

from __future__ import annotations

import pytest

from infrastructure.subscriptions.signatures import BadSignature, sign, verify

SECRET = "whsec_test_0123456789abcdefghij"
BODY = b'{"id":"evt_1","type":"payment.succeeded"}'
NOW = 1_800_000_000


def reason(header: str | None, body: bytes = BODY, now: float = NOW, tolerance: int = 300) -> str:
    with pytest.raises(BadSignature) as refused:
        verify(SECRET, header, body, now, tolerance)
    return refused.value.reason


def test_a_body_signed_with_the_secret_just_now_is_accepted_with_its_timestamp() -> None:
    assert verify(SECRET, sign(SECRET, NOW, BODY), BODY, NOW + 5, 300) == NOW


def test_a_signature_at_the_edge_of_the_tolerance_is_accepted() -> None:
    assert verify(SECRET, sign(SECRET, NOW - 300, BODY), BODY, NOW, 300) == NOW - 300


def test_a_signature_older_than_the_tolerance_is_stale() -> None:
    assert reason(sign(SECRET, NOW - 301, BODY)) == "stale"


def test_a_signature_from_too_far_in_the_future_is_stale() -> None:
    assert reason(sign(SECRET, NOW + 301, BODY)) == "stale"


def test_a_changed_body_does_not_match() -> None:
    assert reason(sign(SECRET, NOW, BODY), body=BODY.replace(b"succeeded", b"failed")) == "mismatch"


def test_another_secret_does_not_match() -> None:
    assert reason(sign("whsec_other_0123456789abcdefghij", NOW, BODY)) == "mismatch"


def test_a_moved_timestamp_does_not_match_the_mac() -> None:
    mac = sign(SECRET, NOW, BODY).partition(",v1=")[2]
    assert reason(f"t={NOW + 1},v1={mac}") == "mismatch"


def test_any_one_of_several_v1_signatures_may_match_while_a_secret_is_rolled() -> None:
    good = sign(SECRET, NOW, BODY).partition(",v1=")[2]
    assert verify(SECRET, f"t={NOW},v1={'0' * 64},v1={good}", BODY, NOW, 300) == NOW


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", f"t={NOW}", f"t=soon,v1={'0' * 64}", f"t={NOW},t={NOW},v1=00", "garbage", "t" * 2000],
)
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    assert reason(header) in {"missing", "malformed"}
