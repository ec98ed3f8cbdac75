"""Roles grant ``resource:action`` permissions; unknown roles grant nothing.

The policy under test is the one the composition root joins from every context's grants."""

from __future__ import annotations

import pytest

from domain.accounts.permissions import ACCOUNTS_MANAGE, PROFILE_READ, ROLES_ASSIGN
from domain.accounts.permissions import GRANTS as ACCOUNTS_GRANTS
from domain.flows.permissions import FLOWS_OWN, FLOWS_READ_ALL
from domain.inventory.permissions import GRANTS as INVENTORY_GRANTS
from domain.shared.access import AUDIT_READ, DEFAULT_ROLE, OPERATIONS, ROLES, ContextGrants, Role
from domain.trades.permissions import MARKS_WRITE, TRADES_OWN, TRADES_READ
from domain.work_orders.permissions import GRANTS as WORK_ORDERS_GRANTS
from infrastructure.root import ACCESS


def test_admin_has_every_permission() -> None:
    assert ACCESS.permissions_for(["admin"]) == ACCESS.all_permissions


def test_no_role_grants_a_permission_outside_the_known_set() -> None:
    assert all(granted <= ACCESS.all_permissions for granted in ACCESS.role_permissions.values())


def test_only_admin_can_manage_accounts_or_assign_roles() -> None:
    managers = {role for role in ROLES if {ACCOUNTS_MANAGE, ROLES_ASSIGN} & ACCESS.permissions_for([role])}

    assert managers == {"admin"}


def test_an_auditor_can_read_the_audit_log() -> None:
    assert AUDIT_READ in ACCESS.permissions_for(["auditor"])


def test_an_auditor_has_no_manage_permission() -> None:
    granted = ACCESS.permissions_for(["auditor"])

    assert not {p for p in granted if p.endswith(":manage")}
    assert ROLES_ASSIGN not in granted


def test_the_default_role_is_a_known_role_that_can_read_its_profile() -> None:
    assert DEFAULT_ROLE in ROLES
    assert PROFILE_READ in ACCESS.permissions_for([DEFAULT_ROLE])


def test_an_unknown_role_grants_nothing() -> None:
    assert ACCESS.permissions_for(["wizard"]) == frozenset()


def test_an_unknown_role_adds_nothing_to_known_ones() -> None:
    assert ACCESS.permissions_for(["user", "wizard"]) == ACCESS.permissions_for(["user"])


def test_several_roles_grant_the_union_of_their_permissions() -> None:
    assert (
        ACCESS.permissions_for(["manager", "inspector"])
        == ACCESS.role_permissions["manager"] | ACCESS.role_permissions["inspector"]
    )
    # ... except that a read-only role withdraws the writes (the next test).
    assert (
        ACCESS.permissions_for(["manager", "auditor"])
        == (ACCESS.role_permissions["manager"] | ACCESS.role_permissions["auditor"]) - ACCESS.writes
    )


def test_no_roles_grant_nothing() -> None:
    assert ACCESS.permissions_for([]) == frozenset()


def test_a_context_cannot_grant_a_permission_it_does_not_declare() -> None:
    with pytest.raises(ValueError, match="not declared"):
        ContextGrants(declared=frozenset({"things:read"}), grants={Role.VIEWER: frozenset({"things:write"})})


def test_every_context_grants_are_in_the_joined_policy() -> None:
    for grants in (ACCOUNTS_GRANTS, WORK_ORDERS_GRANTS, INVENTORY_GRANTS, OPERATIONS):
        for role, granted in grants.grants.items():
            assert granted <= ACCESS.permissions_for([role])


def test_a_read_only_role_withdraws_every_write_its_other_roles_grant_unless_admin() -> None:
    # Every account holds ``user``; an auditor's account still writes no trade and no flow.
    assert ACCESS.writes >= {TRADES_OWN, MARKS_WRITE, FLOWS_OWN}
    assert {TRADES_OWN, FLOWS_OWN} <= ACCESS.permissions_for(["user"])
    auditor = ACCESS.permissions_for(["user", "auditor"])

    assert not auditor & ACCESS.writes
    assert {TRADES_READ, FLOWS_READ_ALL, AUDIT_READ} <= auditor
    assert ACCESS.permissions_for(["admin", "auditor"]) == ACCESS.all_permissions


def test_a_context_cannot_declare_a_write_it_does_not_declare() -> None:
    with pytest.raises(ValueError, match="writes not declared"):
        ContextGrants(declared=frozenset({"things:read"}), writes=frozenset({"things:write"}))
