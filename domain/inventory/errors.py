"""The Inventory context's named errors."""

from __future__ import annotations

from decimal import Decimal

from domain.shared.errors import Category, DomainError


class InvalidInventoryItem(DomainError):
    code = "invalid_inventory_item"
    title = "The inventory item is not valid"
    category = Category.INVALID


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    title = "Not enough stock: stock never goes negative"

    def __init__(self, sku: str, stock: Decimal, requested: Decimal) -> None:
        super().__init__(f"Item {sku} has {stock} in stock; {requested} was requested")


class SkuTaken(DomainError):
    code = "sku_taken"
    title = "An inventory item with this sku already exists"


class AdjustmentReasonRequired(DomainError):
    code = "adjustment_reason_required"
    title = "A stock adjustment needs a reason"
    category = Category.INVALID
