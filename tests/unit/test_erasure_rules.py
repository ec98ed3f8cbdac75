"""Erasure in the domain: the account's rules around ``erase``, and a released email claim taken again."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.accounts.account import Account
from domain.accounts.errors import AccountAlreadyErased, AccountClosed
from domain.accounts.values import Profile
from domain.shared.personal_data import ERASED
from domain.shared.unique_key import EMAIL_MAC_SCOPE, KeyStillClaimed, UniqueKey
from tests.unit.builders import NOW, a_closed_account, a_suspended_account, an_active_account, event_types


def test_erasing_an_open_account_closes_it_first_and_leaves_nothing_personal_in_its_state() -> None:
    account = an_active_account()

    account.erase(by_owner=False, now=NOW)

    assert event_types(account) == [Account.Closed, Account.Erased]
    assert (account.status, account.erased, account.email) == ("closed", True, ERASED)
    assert account.profile == Profile(ERASED, ERASED, None, None, None)
    assert account.password_hash == "" and not account.two_factor.enabled


@pytest.mark.parametrize("account", [a_closed_account(), a_suspended_account()], ids=["closed", "suspended"])
def test_a_closed_or_suspended_account_may_be_erased(account: Account) -> None:
    closed_before = account.status == "closed"

    account.erase(by_owner=True, now=NOW)

    expected = [Account.Erased] if closed_before else [Account.Closed, Account.Erased]
    assert event_types(account) == expected and account.erased


def test_an_erased_account_is_erased_once_and_takes_no_command() -> None:
    account = an_active_account()
    account.erase(by_owner=False, now=NOW)
    account.collect_events()

    with pytest.raises(AccountAlreadyErased):
        account.erase(by_owner=False, now=NOW)
    with pytest.raises(AccountClosed):
        account.update_profile(profile=Profile("Ada", "Lovelace"), now=NOW)
    assert account.collect_events() == []


def test_a_released_claim_names_no_owner_and_is_taken_again_by_one_new_owner() -> None:
    first, second, third = uuid4(), uuid4(), uuid4()
    claim = UniqueKey.claim(scope=EMAIL_MAC_SCOPE, key="f" * 64, owner_id=first, now=NOW)

    claim.release(now=NOW)
    assert claim.owner_id is None
    claim.reclaim(owner_id=second, now=NOW)

    assert claim.owner_id == second
    with pytest.raises(KeyStillClaimed):
        claim.reclaim(owner_id=third, now=NOW)
    assert [type(e) for e in claim.collect_events()] == [UniqueKey.Claimed, UniqueKey.Released, UniqueKey.Reclaimed]
