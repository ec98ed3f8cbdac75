"""Quantities of material: exact decimals with at most three places, within bounds."""

from __future__ import annotations

from decimal import Decimal

from domain.shared.errors import Category, DomainError

QUANTITY_PLACES = 3
MAX_QUANTITY = Decimal("1000000000")
_PLACES = Decimal(1).scaleb(-QUANTITY_PLACES)


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    title = "Quantities are positive numbers with at most three decimal places"
    category = Category.INVALID


def check_quantity(quantity: Decimal, *, allow_negative: bool = False) -> Decimal:
    """A movement's quantity: finite, non-zero, at most three decimal places, within bounds."""
    if not quantity.is_finite() or quantity == 0 or (quantity < 0 and not allow_negative):
        raise InvalidQuantity(f"{quantity} is not a valid quantity")
    # Bounded first, so quantizing to three places stays within the context's precision and
    # compares exactly (``normalize`` would round a 29-digit quantity into looking valid).
    if abs(quantity) > MAX_QUANTITY or quantity != quantity.quantize(_PLACES):
        raise InvalidQuantity(f"{quantity} is not a valid quantity")
    return quantity


def format_quantity(quantity: Decimal) -> str:
    """The one way a quantity is shown: three places, as stored (``2.500``)."""
    return f"{quantity.quantize(_PLACES)}"
