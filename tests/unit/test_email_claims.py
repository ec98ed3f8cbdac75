"""EmailIndex: the stream id is derived from the normalized email, so one address has one claim."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.unit.builders import ACCOUNT_ID, NOW


@pytest.mark.parametrize(
    "variant", ["ADA@EXAMPLE.COM", "  ada@example.com", "Ada@Example.Com\n", "\tAdA@eXample.com  "]
)
def test_the_index_id_ignores_letter_case_and_surrounding_whitespace(variant: str) -> None:
    assert EmailIndex.id_for(variant) == EmailIndex.id_for("ada@example.com")


def test_different_addresses_have_different_index_ids() -> None:
    assert EmailIndex.id_for("ada@example.com") != EmailIndex.id_for("ada@example.org")


def test_a_claim_is_stored_under_the_index_id_of_its_email() -> None:
    claim = EmailIndex.claim(email="  Ada@Example.COM ", account_id=ACCOUNT_ID, now=NOW)

    assert claim.id == EmailIndex.id_for("ada@example.com")
    assert claim.email_key == "ada@example.com"
    assert claim.account_id == ACCOUNT_ID
    assert [type(e) for e in claim.collect_events()] == [EmailIndex.Claimed]


def test_claims_of_one_address_in_different_cases_write_the_same_stream() -> None:
    other_account = UUID("00000000-0000-4000-8000-000000000002")

    first = EmailIndex.claim(email="ada@example.com", account_id=ACCOUNT_ID, now=NOW)
    second = EmailIndex.claim(email="ADA@example.com ", account_id=other_account, now=NOW)

    assert first.id == second.id
