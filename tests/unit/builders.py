"""Givens shared by the domain tests: a fixed clock, a valid profile, accounts in known states.

Every given account has had its events collected, so a test's ``when`` sees only the events
its own command emitted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.account import Account, Profile

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
ACCOUNT_ID = UUID("00000000-0000-4000-8000-000000000001")
SESSION_ID = UUID("00000000-0000-4000-8000-0000000000a1")
HASH = "argon2$original"
VERIFY_NONCE = "verify-nonce"
RESET_NONCE = "reset-nonce"
TTL = timedelta(hours=1)


def a_profile(**overrides: object) -> Profile:
    fields: dict[str, object] = {"first_name": "Ada", "last_name": "Lovelace"}
    fields.update(overrides)
    return Profile(**fields)  # type: ignore[arg-type]


def register(
    *, roles: list[str] | None = None, email: str = "ada@example.com", profile: Profile | None = None
) -> Account:
    return Account.register(
        account_id=ACCOUNT_ID,
        email=email,
        profile=profile or a_profile(),
        password_hash=HASH,
        now=NOW,
        roles=roles,
    )


def a_pending_account(*, roles: list[str] | None = None) -> Account:
    """Registered, with a verification mail (``VERIFY_NONCE``, valid for ``TTL``) pending."""
    account = register(roles=roles)
    account.request_email_verification(nonce=VERIFY_NONCE, expires_at=NOW + TTL, now=NOW)
    account.collect_events()
    return account


def an_active_account(*, roles: list[str] | None = None) -> Account:
    account = register(roles=roles)
    account.verify_email(nonce=None, now=NOW)
    account.collect_events()
    return account


def a_suspended_account(*, verified: bool = True) -> Account:
    account = an_active_account() if verified else a_pending_account()
    account.suspend(reason="fraud check", now=NOW)
    account.collect_events()
    return account


def a_closed_account() -> Account:
    account = an_active_account()
    account.close(reason="requested", by_owner=True, now=NOW)
    account.collect_events()
    return account


def event_types(account: Account) -> list[type]:
    return [type(event) for event in account.collect_events()]
