"""Roles grant ``resource:action`` permissions; unknown roles grant nothing."""

from __future__ import annotations

from domain.permissions import (
    ACCOUNTS_MANAGE,
    ALL_PERMISSIONS,
    AUDIT_READ,
    DEFAULT_ROLE,
    PROFILE_READ,
    ROLE_PERMISSIONS,
    ROLES,
    ROLES_ASSIGN,
    permissions_for,
)


def test_admin_has_every_permission() -> None:
    assert permissions_for(["admin"]) == ALL_PERMISSIONS


def test_no_role_grants_a_permission_outside_the_known_set() -> None:
    assert all(granted <= ALL_PERMISSIONS for granted in ROLE_PERMISSIONS.values())


def test_only_admin_can_manage_accounts_or_assign_roles() -> None:
    managers = {role for role in ROLES if {ACCOUNTS_MANAGE, ROLES_ASSIGN} & permissions_for([role])}

    assert managers == {"admin"}


def test_an_auditor_can_read_the_audit_log() -> None:
    assert AUDIT_READ in permissions_for(["auditor"])


def test_an_auditor_has_no_manage_permission() -> None:
    granted = permissions_for(["auditor"])

    assert not {p for p in granted if p.endswith(":manage")}
    assert ROLES_ASSIGN not in granted


def test_the_default_role_is_a_known_role_that_can_read_its_profile() -> None:
    assert DEFAULT_ROLE in ROLES
    assert PROFILE_READ in permissions_for([DEFAULT_ROLE])


def test_an_unknown_role_grants_nothing() -> None:
    assert permissions_for(["wizard"]) == frozenset()


def test_an_unknown_role_adds_nothing_to_known_ones() -> None:
    assert permissions_for(["user", "wizard"]) == permissions_for(["user"])


def test_several_roles_grant_the_union_of_their_permissions() -> None:
    assert permissions_for(["manager", "auditor"]) == ROLE_PERMISSIONS["manager"] | ROLE_PERMISSIONS["auditor"]


def test_no_roles_grant_nothing() -> None:
    assert permissions_for([]) == frozenset()
