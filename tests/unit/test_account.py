"""The Account aggregate, one behaviour per test: given an account in some state, when a
command runs, then the state, the events emitted, or the named error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from domain.accounts.account import Account
from domain.accounts.errors import (
    AccountAlreadySuspended,
    AccountClosed,
    AccountLocked,
    AccountNotSuspended,
    AccountSuspended,
    DefaultRoleRequired,
    EmailAlreadyVerified,
    EmailNotVerified,
    InvalidProfile,
    InvalidToken,
    RoleAlreadyAssigned,
    RoleNotAssigned,
    UnknownRole,
    WeakPassword,
)
from domain.accounts.values import AccountStatus, LoginPolicy, Profile, check_password_strength
from tests.unit.builders import (
    HASH,
    NOW,
    RESET_NONCE,
    SESSION_ID,
    TTL,
    VERIFY_NONCE,
    a_closed_account,
    a_pending_account,
    a_profile,
    a_suspended_account,
    an_active_account,
    event_types,
    register,
)

LOCKOUT = LoginPolicy().lockout
MAX_FAILURES = LoginPolicy().max_failures


def fail_logins(account: Account, times: int, policy: LoginPolicy | None = None) -> None:
    for _ in range(times):
        account.record_failed_login(now=NOW, policy=policy or LoginPolicy())


# --- registration ------------------------------------------------------------------------


def test_registering_without_roles_grants_only_the_user_role() -> None:
    account = register()

    assert account.roles == ["user"]


def test_registering_with_roles_always_adds_the_user_role() -> None:
    account = register(roles=["manager", "admin"])

    assert account.roles == ["admin", "manager", "user"]


def test_registering_with_an_unknown_role_is_refused() -> None:
    with pytest.raises(UnknownRole):
        register(roles=["admin", "wizard"])


def test_a_new_account_is_pending_verification_and_emits_only_registered() -> None:
    account = register()

    assert account.status == AccountStatus.PENDING
    assert account.email_verified is False
    assert account.created_on == NOW
    assert event_types(account) == [Account.Registered]


def test_registration_trims_the_email_and_keys_it_case_insensitively() -> None:
    account = register(email="  Ada.Lovelace@Example.COM ")

    assert account.email == "Ada.Lovelace@Example.COM"
    assert account.email_key == "ada.lovelace@example.com"


def test_registration_keeps_the_whole_profile() -> None:
    profile = a_profile(phone_country_code="+44", phone_number="7700900123", birthday=date(1815, 12, 10))

    account = register(profile=profile)

    assert account.profile == profile


@pytest.mark.parametrize(
    ("code", "number"), [("+44", None), (None, "7700900123")], ids=["code-without-number", "number-without-code"]
)
def test_a_phone_with_only_one_part_is_an_invalid_profile(code: str | None, number: str | None) -> None:
    with pytest.raises(InvalidProfile):
        a_profile(phone_country_code=code, phone_number=number)


@pytest.mark.parametrize(
    ("first", "last"), [("", "Lovelace"), ("Ada", ""), ("   ", "Lovelace"), ("Ada", "\t")], ids=repr
)
def test_an_empty_or_blank_name_is_an_invalid_profile(first: str, last: str) -> None:
    with pytest.raises(InvalidProfile):
        Profile(first_name=first, last_name=last)


# --- password policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["abc1234", "abcdefgh", "12345678", "________1", ""],
    ids=["seven-chars", "no-digit", "no-letter", "underscore-is-no-letter", "empty"],
)
def test_a_weak_password_is_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password_strength(password)


@pytest.mark.parametrize("password", ["abcdefg1", "correct horse 9", "pässwört2"], ids=repr)
def test_a_password_of_eight_chars_with_a_letter_and_a_digit_passes(password: str) -> None:
    check_password_strength(password)


# --- email verification ---------------------------------------------------------------


def test_the_right_nonce_before_expiry_verifies_the_email_and_activates_the_account() -> None:
    account = a_pending_account()

    account.verify_email(nonce=VERIFY_NONCE, now=NOW + TTL - timedelta(seconds=1))

    assert account.email_verified is True
    assert account.status == AccountStatus.ACTIVE
    assert account.verification is None
    assert event_types(account) == [Account.EmailVerified]


def test_a_wrong_nonce_is_an_invalid_token_and_changes_nothing() -> None:
    account = a_pending_account()

    with pytest.raises(InvalidToken):
        account.verify_email(nonce="not-the-nonce", now=NOW)

    assert account.email_verified is False
    assert account.status == AccountStatus.PENDING
    assert event_types(account) == []


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1)], ids=["at-expiry", "after-expiry"])
def test_an_expired_nonce_is_an_invalid_token(late: timedelta) -> None:
    account = a_pending_account()

    with pytest.raises(InvalidToken):
        account.verify_email(nonce=VERIFY_NONCE, now=NOW + TTL + late)


def test_a_nonce_without_any_pending_request_is_an_invalid_token() -> None:
    account = register()
    account.collect_events()

    with pytest.raises(InvalidToken):
        account.verify_email(nonce=VERIFY_NONCE, now=NOW)


def test_a_new_verification_request_replaces_the_old_nonce() -> None:
    account = a_pending_account()
    account.request_email_verification(nonce="second-nonce", expires_at=NOW + TTL, now=NOW)

    with pytest.raises(InvalidToken):
        account.verify_email(nonce=VERIFY_NONCE, now=NOW)


def test_verifying_an_already_verified_email_is_refused() -> None:
    account = an_active_account()

    with pytest.raises(EmailAlreadyVerified):
        account.verify_email(nonce=None, now=NOW)


def test_requesting_verification_of_an_already_verified_email_is_refused() -> None:
    account = an_active_account()

    with pytest.raises(EmailAlreadyVerified):
        account.request_email_verification(nonce=VERIFY_NONCE, expires_at=NOW + TTL, now=NOW)


def test_verifying_without_a_nonce_auto_verifies_a_new_account() -> None:
    account = register()
    account.collect_events()

    account.verify_email(nonce=None, now=NOW)

    assert account.email_verified is True
    assert account.status == AccountStatus.ACTIVE
    assert event_types(account) == [Account.EmailVerified]


def test_verifying_a_suspended_account_keeps_it_suspended() -> None:
    account = a_suspended_account(verified=False)

    account.verify_email(nonce=VERIFY_NONCE, now=NOW)

    assert account.email_verified is True
    assert account.status == AccountStatus.SUSPENDED


# --- login and lockout ----------------------------------------------------------------


def test_failures_below_the_limit_are_counted_without_locking() -> None:
    account = an_active_account()

    fail_logins(account, MAX_FAILURES - 1)

    assert account.failed_logins == MAX_FAILURES - 1
    assert account.locked_until is None
    assert event_types(account) == [Account.LoginFailed] * (MAX_FAILURES - 1)


def test_the_fifth_consecutive_failure_locks_the_account_for_fifteen_minutes() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES - 1)
    account.collect_events()

    account.record_failed_login(now=NOW, policy=LoginPolicy())

    failed, locked = account.collect_events()
    assert isinstance(failed, Account.LoginFailed)
    assert isinstance(locked, Account.LockedOut)
    assert failed.failures == MAX_FAILURES
    assert locked.until == NOW + timedelta(minutes=15)
    assert account.locked_until == NOW + timedelta(minutes=15)


def test_the_failure_that_locks_starts_the_count_again() -> None:
    account = an_active_account()

    fail_logins(account, MAX_FAILURES)

    assert account.failed_logins == 0


def test_a_custom_policy_locks_after_its_own_limit_for_its_own_duration() -> None:
    account = an_active_account()
    policy = LoginPolicy(max_failures=2, lockout=timedelta(hours=1))

    fail_logins(account, 2, policy)

    assert account.locked_until == NOW + timedelta(hours=1)


def test_a_locked_account_is_refused_until_the_lock_ends() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)

    with pytest.raises(AccountLocked) as refused:
        account.check_not_locked(NOW + LOCKOUT - timedelta(seconds=1))

    assert refused.value.until == NOW + LOCKOUT


@pytest.mark.parametrize("after", [timedelta(0), timedelta(hours=1)], ids=["at-the-end", "later"])
def test_a_lock_no_longer_applies_once_it_ends(after: timedelta) -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)

    account.check_not_locked(NOW + LOCKOUT + after)


def test_a_failed_login_while_locked_is_refused_and_not_counted() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)
    account.collect_events()

    with pytest.raises(AccountLocked):
        account.record_failed_login(now=NOW + timedelta(minutes=1), policy=LoginPolicy())

    assert event_types(account) == []


def test_a_successful_login_while_locked_is_refused() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)

    with pytest.raises(AccountLocked):
        account.record_login(session_id=SESSION_ID, now=NOW + timedelta(minutes=1))


def test_failures_after_a_lock_ends_count_from_zero() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)

    account.record_failed_login(now=NOW + LOCKOUT, policy=LoginPolicy())

    assert account.failed_logins == 1
    assert account.locked_until == NOW + LOCKOUT


def test_a_successful_login_resets_the_failure_count_and_records_the_time() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES - 1)
    account.collect_events()
    later = NOW + timedelta(minutes=3)

    account.record_login(session_id=SESSION_ID, now=later)

    (succeeded,) = account.collect_events()
    assert isinstance(succeeded, Account.LoginSucceeded)
    assert succeeded.session_id == SESSION_ID
    assert account.failed_logins == 0
    assert account.last_login_at == later


def test_a_successful_login_after_a_lock_ends_clears_the_lock() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)

    account.record_login(session_id=SESSION_ID, now=NOW + LOCKOUT)

    assert account.locked_until is None


def test_an_unverified_account_cannot_log_in() -> None:
    account = a_pending_account()

    with pytest.raises(EmailNotVerified):
        account.record_login(session_id=SESSION_ID, now=NOW)


def test_a_suspended_account_cannot_log_in() -> None:
    account = a_suspended_account()

    with pytest.raises(AccountSuspended):
        account.record_login(session_id=SESSION_ID, now=NOW)


# --- password change and reset ---------------------------------------------------------


def test_changing_the_password_stores_the_new_hash() -> None:
    account = an_active_account()

    account.change_password(password_hash="argon2$new", now=NOW)

    assert account.password_hash == "argon2$new"
    assert event_types(account) == [Account.PasswordChanged]


def test_a_suspended_account_cannot_change_its_password() -> None:
    account = a_suspended_account()

    with pytest.raises(AccountSuspended):
        account.change_password(password_hash="argon2$new", now=NOW)


def test_a_reset_with_the_right_nonce_within_its_ttl_sets_the_hash_and_clears_the_lock() -> None:
    account = an_active_account()
    fail_logins(account, MAX_FAILURES)
    account.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW)
    account.collect_events()

    account.reset_password(nonce=RESET_NONCE, password_hash="argon2$new", now=NOW + TTL - timedelta(seconds=1))

    assert account.password_hash == "argon2$new"
    assert account.locked_until is None
    assert account.failed_logins == 0
    assert account.password_reset is None
    assert event_types(account) == [Account.PasswordReset]


def test_a_reset_with_a_wrong_nonce_is_an_invalid_token() -> None:
    account = an_active_account()
    account.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW)

    with pytest.raises(InvalidToken):
        account.reset_password(nonce="not-the-nonce", password_hash="argon2$new", now=NOW)

    assert account.password_hash == HASH


def test_a_reset_after_its_ttl_is_an_invalid_token() -> None:
    account = an_active_account()
    account.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW)

    with pytest.raises(InvalidToken):
        account.reset_password(nonce=RESET_NONCE, password_hash="argon2$new", now=NOW + TTL)


def test_a_reset_nonce_works_only_once() -> None:
    account = an_active_account()
    account.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW)
    account.reset_password(nonce=RESET_NONCE, password_hash="argon2$new", now=NOW)

    with pytest.raises(InvalidToken):
        account.reset_password(nonce=RESET_NONCE, password_hash="argon2$newer", now=NOW)


def test_a_reset_without_a_request_is_an_invalid_token() -> None:
    account = an_active_account()

    with pytest.raises(InvalidToken):
        account.reset_password(nonce=RESET_NONCE, password_hash="argon2$new", now=NOW)


def test_a_suspended_account_cannot_request_a_password_reset() -> None:
    account = a_suspended_account()

    with pytest.raises(AccountSuspended):
        account.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW)


# --- profile ----------------------------------------------------------------------------


def test_updating_the_profile_replaces_it() -> None:
    account = an_active_account()
    profile = Profile("Augusta", "King", "+44", "7700900123", date(1815, 12, 10))

    account.update_profile(profile=profile, now=NOW)

    assert account.profile == profile
    assert event_types(account) == [Account.ProfileUpdated]


def test_a_suspended_account_cannot_update_its_profile() -> None:
    account = a_suspended_account()

    with pytest.raises(AccountSuspended):
        account.update_profile(profile=a_profile(first_name="Augusta"), now=NOW)


# --- roles --------------------------------------------------------------------------------


def test_assigning_a_known_role_adds_it() -> None:
    account = an_active_account()

    account.assign_role(role="auditor", now=NOW)

    assert account.roles == ["auditor", "user"]
    assert event_types(account) == [Account.RoleAssigned]


def test_assigning_a_role_twice_is_refused() -> None:
    account = an_active_account()
    account.assign_role(role="auditor", now=NOW)
    account.collect_events()

    with pytest.raises(RoleAlreadyAssigned):
        account.assign_role(role="auditor", now=NOW)

    assert event_types(account) == []


def test_assigning_an_unknown_role_is_refused() -> None:
    account = an_active_account()

    with pytest.raises(UnknownRole):
        account.assign_role(role="wizard", now=NOW)


def test_revoking_an_assigned_role_removes_it() -> None:
    account = an_active_account(roles=["manager"])

    account.revoke_role(role="manager", now=NOW)

    assert account.roles == ["user"]
    assert event_types(account) == [Account.RoleRevoked]


def test_revoking_a_role_the_account_lacks_is_refused() -> None:
    account = an_active_account()

    with pytest.raises(RoleNotAssigned):
        account.revoke_role(role="manager", now=NOW)


def test_revoking_the_user_role_is_refused() -> None:
    account = an_active_account(roles=["admin"])

    with pytest.raises(DefaultRoleRequired):
        account.revoke_role(role="user", now=NOW)

    assert account.roles == ["admin", "user"]
    assert event_types(account) == []


def test_revoking_an_unknown_role_is_refused() -> None:
    account = an_active_account()

    with pytest.raises(UnknownRole):
        account.revoke_role(role="wizard", now=NOW)


# --- suspension ---------------------------------------------------------------------------


def test_suspending_an_active_account_suspends_it() -> None:
    account = an_active_account()

    account.suspend(reason="fraud check", now=NOW)

    (suspended,) = account.collect_events()
    assert isinstance(suspended, Account.Suspended)
    assert suspended.reason == "fraud check"
    assert account.status == AccountStatus.SUSPENDED


def test_suspending_a_suspended_account_is_refused() -> None:
    account = a_suspended_account()

    with pytest.raises(AccountAlreadySuspended):
        account.suspend(reason="again", now=NOW)


def test_reactivating_an_account_that_is_not_suspended_is_refused() -> None:
    account = an_active_account()

    with pytest.raises(AccountNotSuspended):
        account.reactivate(now=NOW)


def test_a_reactivated_verified_account_is_active() -> None:
    account = a_suspended_account(verified=True)

    account.reactivate(now=NOW)

    assert account.status == AccountStatus.ACTIVE
    assert event_types(account) == [Account.Reactivated]


def test_a_reactivated_unverified_account_goes_back_to_pending_verification() -> None:
    account = a_suspended_account(verified=False)

    account.reactivate(now=NOW)

    assert account.status == AccountStatus.PENDING


# --- closing --------------------------------------------------------------------------------


def test_closing_an_account_closes_it_and_drops_pending_tokens() -> None:
    account = a_pending_account()
    account.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW)
    account.collect_events()

    account.close(reason="requested", by_owner=True, now=NOW)

    assert account.status == AccountStatus.CLOSED
    assert account.verification is None
    assert account.password_reset is None
    assert event_types(account) == [Account.Closed]


def test_a_suspended_account_can_be_closed() -> None:
    account = a_suspended_account()

    account.close(reason="fraud confirmed", by_owner=False, now=NOW)

    assert account.status == AccountStatus.CLOSED


COMMANDS: dict[str, Callable[[Account], object]] = {
    "request_email_verification": lambda a: a.request_email_verification(
        nonce=VERIFY_NONCE, expires_at=NOW + TTL, now=NOW
    ),
    "verify_email": lambda a: a.verify_email(nonce=None, now=NOW),
    "record_failed_login": lambda a: a.record_failed_login(now=NOW, policy=LoginPolicy()),
    "record_login": lambda a: a.record_login(session_id=SESSION_ID, now=NOW),
    "change_password": lambda a: a.change_password(password_hash="argon2$new", now=NOW),
    "request_password_reset": lambda a: a.request_password_reset(nonce=RESET_NONCE, expires_at=NOW + TTL, now=NOW),
    "reset_password": lambda a: a.reset_password(nonce=RESET_NONCE, password_hash="argon2$new", now=NOW),
    "update_profile": lambda a: a.update_profile(profile=a_profile(first_name="Augusta"), now=NOW),
    "assign_role": lambda a: a.assign_role(role="auditor", now=NOW),
    "revoke_role": lambda a: a.revoke_role(role="user", now=NOW),
    "suspend": lambda a: a.suspend(reason="again", now=NOW),
    "reactivate": lambda a: a.reactivate(now=NOW),
    "close": lambda a: a.close(reason="again", by_owner=False, now=NOW),
    "ensure_usable": lambda a: a.ensure_usable(),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_on_a_closed_account_is_refused(command: Callable[[Account], object]) -> None:
    account = a_closed_account()

    with pytest.raises(AccountClosed):
        command(account)

    assert account.status == AccountStatus.CLOSED
    assert event_types(account) == []


def test_a_closed_suspended_account_cannot_be_reactivated() -> None:
    account = a_suspended_account()
    account.close(reason="fraud confirmed", by_owner=False, now=NOW)

    with pytest.raises(AccountClosed):
        account.reactivate(now=NOW)
