"""What the Inventory context lets roles do."""

from __future__ import annotations

from typing import Final

from domain.shared.access import ContextGrants, Role

INVENTORY_READ: Final = "inventory:read"
INVENTORY_MANAGE: Final = "inventory:manage"  # register items, receive and adjust stock

GRANTS: Final = ContextGrants(
    declared=frozenset({INVENTORY_READ, INVENTORY_MANAGE}),
    grants={
        Role.MANAGER: frozenset({INVENTORY_READ, INVENTORY_MANAGE}),
        Role.OPERATOR: frozenset({INVENTORY_READ}),
        Role.INSPECTOR: frozenset({INVENTORY_READ}),
        Role.VIEWER: frozenset({INVENTORY_READ}),
        Role.AUDITOR: frozenset({INVENTORY_READ}),
    },
)
