"""Email claims: a ``UniqueKey`` in the email scope whose stream id is derived from the normalized
email, so one address has one claim."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.accounts.values import email_claim_id, normalize_email
from domain.shared.unique_key import EMAIL_SCOPE, UniqueKey
from tests.unit.builders import ACCOUNT_ID, NOW


def an_email_claim(email: str, owner_id: UUID) -> UniqueKey:
    """The claim the Accounts application saves with a new account: the normalized address in the email scope."""
    return UniqueKey.claim(scope=EMAIL_SCOPE, key=normalize_email(email), owner_id=owner_id, now=NOW)


@pytest.mark.parametrize(
    "variant", ["ADA@EXAMPLE.COM", "  ada@example.com", "Ada@Example.Com\n", "\tAdA@eXample.com  "]
)
def test_the_claim_id_ignores_letter_case_and_surrounding_whitespace(variant: str) -> None:
    assert email_claim_id(variant) == email_claim_id("ada@example.com")


def test_different_addresses_have_different_claim_ids() -> None:
    assert email_claim_id("ada@example.com") != email_claim_id("ada@example.org")


def test_a_claim_is_stored_under_the_claim_id_of_its_email() -> None:
    claim = an_email_claim("  Ada@Example.COM ", ACCOUNT_ID)

    assert claim.id == email_claim_id("ada@example.com")
    assert (claim.scope, claim.key) == ("email", "ada@example.com")
    assert claim.owner_id == ACCOUNT_ID
    assert [type(e) for e in claim.collect_events()] == [UniqueKey.Claimed]


def test_claims_of_one_address_in_different_cases_write_the_same_stream() -> None:
    other_account = UUID("00000000-0000-4000-8000-000000000002")

    first = an_email_claim("ada@example.com", ACCOUNT_ID)
    second = an_email_claim("ADA@example.com ", other_account)

    assert first.id == second.id
