"""Givens shared by the domain tests: a fixed clock, a valid profile, accounts, work orders and
inventory items in known states.

Every given aggregate has had its events collected, so a test's ``when`` sees only the events
its own command emitted.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from domain.accounts.account import Account
from domain.accounts.values import Profile
from domain.inventory.item import InventoryItem
from domain.shared.errors import DomainError
from domain.work_orders.new_order import NewWorkOrder
from domain.work_orders.work_order import WorkOrder

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


def event_types(aggregate: Aggregate) -> list[type]:
    return [type(event) for event in aggregate.collect_events()]


# --- work orders and inventory -------------------------------------------------------------

ORDER_ID = UUID("00000000-0000-4000-8000-0000000000b1")
WELDER_ID = UUID("00000000-0000-4000-8000-0000000000c1")
OTHER_WELDER_ID = UUID("00000000-0000-4000-8000-0000000000c2")
INSPECTOR_ID = UUID("00000000-0000-4000-8000-0000000000d1")
ITEM_ID = UUID("00000000-0000-4000-8000-0000000000e1")
DUE = date(2024, 6, 1)


def a_new_work_order(**overrides: object) -> NewWorkOrder:
    fields: dict[str, object] = {
        "order_number": "WO-1001",
        "client": "Acme Steel",
        "description": "Weld the frame",
        "machine": "MIG-3",
        "due_date": DUE,
        "priority": "normal",
    }
    fields.update(overrides)
    return NewWorkOrder(**fields)  # type: ignore[arg-type]


def an_open_order(**overrides: object) -> WorkOrder:
    order = WorkOrder.create(order_id=ORDER_ID, new=a_new_work_order(**overrides), now=NOW)
    order.collect_events()
    return order


def an_assigned_order() -> WorkOrder:
    """Assigned to ``WELDER_ID``."""
    order = an_open_order()
    order.assign_welder(welder_id=WELDER_ID, now=NOW)
    order.collect_events()
    return order


def an_order_in_progress() -> WorkOrder:
    """Started by ``WELDER_ID``."""
    order = an_assigned_order()
    order.start(welder_id=WELDER_ID, now=NOW)
    order.collect_events()
    return order


def an_inspected_order(*, passed: bool) -> WorkOrder:
    order = an_order_in_progress()
    order.record_inspection(inspector_id=INSPECTOR_ID, passed=passed, notes="seams checked", now=NOW)
    order.collect_events()
    return order


def an_order_in_rework() -> WorkOrder:
    order = an_inspected_order(passed=False)
    order.send_to_rework(reason="porous seam", now=NOW)
    order.collect_events()
    return order


def a_completed_order() -> WorkOrder:
    order = an_inspected_order(passed=True)
    order.complete(now=NOW)
    order.collect_events()
    return order


def a_cancelled_order() -> WorkOrder:
    order = an_open_order()
    order.cancel(reason="client withdrew", now=NOW)
    order.collect_events()
    return order


def an_item(*, stock: Decimal = Decimal(0), reorder_level: Decimal = Decimal(5)) -> InventoryItem:
    """Item ``ROD-316L`` in kg, holding ``stock``."""
    item = InventoryItem.register(
        item_id=ITEM_ID, sku="ROD-316L", name="Filler rod 316L", unit="kg", reorder_level=reorder_level, now=NOW
    )
    if stock:
        item.receive(quantity=stock, note="opening stock", now=NOW)
    item.collect_events()
    return item


A = TypeVar("A", bound=Aggregate)


def refused(aggregate: A, error: type[DomainError], command: Callable[[A], object]) -> None:
    """``command`` raises exactly ``error``, and the aggregate is left as it was, having emitted nothing."""
    before = copy.deepcopy(aggregate)
    with pytest.raises(error) as raised:
        command(aggregate)
    assert type(raised.value) is error
    assert aggregate == before
    assert event_types(aggregate) == []
