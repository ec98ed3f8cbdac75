"""Wiring of the Inventory context: its application and read model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.inventory.application import InventoryApplication
from infrastructure.inventory.queries import InventoryQueries
from infrastructure.inventory.tables import INVENTORY_TABLES
from infrastructure.inventory.writer import SqlInventoryView
from infrastructure.shared.platform import Platform
from infrastructure.shared.runner import Follower
from projections.inventory.projection import InventoryProjection


@dataclass
class Inventory:
    """The Inventory context, wired."""

    app: InventoryApplication
    queries: InventoryQueries
    followers: tuple[Follower, ...]

    def services(self) -> dict[type, Any]:
        return {InventoryApplication: self.app, InventoryQueries: self.queries}

    def start(self, platform: Platform) -> None:
        """Nothing to prepare."""


def wire_inventory(platform: Platform) -> Inventory:
    app = InventoryApplication(platform.env, shares_log_with=platform.log)
    platform.joins_log(app)
    followers = (Follower(InventoryProjection(), SqlInventoryView, INVENTORY_TABLES),)
    return Inventory(app, InventoryQueries(platform.query_engine), followers)
