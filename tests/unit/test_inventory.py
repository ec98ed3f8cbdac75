"""The InventoryItem aggregate, one behaviour per test: given an item holding some stock, when a
movement runs, then the new stock, the events emitted, or the named error (and nothing emitted)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.inventory.errors import AdjustmentReasonRequired, InsufficientStock, InvalidInventoryItem
from domain.inventory.item import InventoryItem, normalize_sku
from domain.shared.quantity import InvalidQuantity, check_quantity
from tests.unit.builders import ITEM_ID, NOW, ORDER_ID, an_item, event_types, refused

INVALID_QUANTITIES = ["0", "-0.000", "-1", "0.0001", "1.00000000000000000000000000001", "1000000000.001", "NaN", "sNaN"]
INVALID_QUANTITIES += ["Infinity"]


def register(**overrides: object) -> InventoryItem:
    fields: dict[str, object] = {"sku": "ROD-316L", "name": "Filler rod 316L", "unit": "kg", "reorder_level": "5"}
    fields.update(overrides)
    fields["reorder_level"] = Decimal(str(fields["reorder_level"]))
    return InventoryItem.register(item_id=ITEM_ID, now=NOW, **fields)  # type: ignore[arg-type]


# --- registration -------------------------------------------------------------------------------


def test_a_registered_item_holds_no_stock_and_emits_only_registered() -> None:
    item = register(sku=" rod-316L ", name=" Filler rod 316L ", unit=" kg ")

    assert (item.id, item.sku, item.name, item.unit) == (ITEM_ID, "rod-316L", "Filler rod 316L", "kg")
    assert item.reorder_level == Decimal(5)
    assert item.stock == 0
    assert event_types(item) == [InventoryItem.Registered]


def test_skus_are_unique_regardless_of_case_and_surrounding_space() -> None:
    assert normalize_sku(" rod-316l ") == normalize_sku("ROD-316L") == "ROD-316L"


@pytest.mark.parametrize(
    "fields",
    [
        {"sku": ""},
        {"sku": "-ROD"},
        {"sku": "ROD 316"},
        {"sku": "R" * 65},
        {"name": "  "},
        {"name": "N" * 201},
        {"unit": ""},
        {"unit": "U" * 17},
    ],
    ids=repr,
)
def test_an_item_with_an_invalid_field_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInventoryItem):
        register(**fields)


@pytest.mark.parametrize("level", ["-1", "0.0001", "NaN", "sNaN"], ids=repr)
def test_a_negative_or_too_precise_reorder_level_is_refused(level: str) -> None:
    with pytest.raises(InvalidQuantity):
        register(reorder_level=level)


def test_a_zero_reorder_level_is_accepted() -> None:
    assert register(reorder_level="0").reorder_level == 0


@pytest.mark.parametrize(("stock", "low"), [("4.999", True), ("5", True), ("5.001", False)])
def test_an_item_is_low_on_stock_at_or_below_its_reorder_level(stock: str, low: bool) -> None:
    assert an_item(stock=Decimal(stock), reorder_level=Decimal(5)).low_on_stock is low


# --- quantities ---------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["0.001", "1.5", "1.2300", "1E+3", "1000000000"], ids=repr)
def test_a_positive_quantity_with_at_most_three_places_within_bounds_is_valid(quantity: str) -> None:
    assert check_quantity(Decimal(quantity)) == Decimal(quantity)


@pytest.mark.parametrize("quantity", INVALID_QUANTITIES, ids=repr)
def test_zero_negative_too_precise_too_large_or_not_finite_quantities_are_invalid(quantity: str) -> None:
    with pytest.raises(InvalidQuantity):
        check_quantity(Decimal(quantity))


def test_a_negative_delta_is_valid_where_negatives_are_allowed() -> None:
    assert check_quantity(Decimal("-2.5"), allow_negative=True) == Decimal("-2.5")


# --- receiving ----------------------------------------------------------------------------------


def test_receiving_adds_to_the_stock() -> None:
    item = an_item(stock=Decimal("2.5"))

    item.receive(quantity=Decimal("10.125"), note=" delivery 42 ", now=NOW)

    assert item.stock == Decimal("12.625")
    (event,) = item.collect_events()
    assert isinstance(event, InventoryItem.Received)
    assert (event.quantity, event.note) == (Decimal("10.125"), "delivery 42")


@pytest.mark.parametrize("quantity", INVALID_QUANTITIES, ids=repr)
def test_receiving_an_invalid_quantity_is_refused(quantity: str) -> None:
    refused(
        an_item(stock=Decimal(3)),
        InvalidQuantity,
        lambda item: item.receive(quantity=Decimal(quantity), note="", now=NOW),
    )


# --- consuming ----------------------------------------------------------------------------------


def test_consuming_for_a_work_order_takes_from_the_stock() -> None:
    item = an_item(stock=Decimal(10))

    item.consume(quantity=Decimal("2.5"), work_order_id=ORDER_ID, now=NOW)

    assert item.stock == Decimal("7.5")
    (event,) = item.collect_events()
    assert isinstance(event, InventoryItem.Consumed)
    assert (event.quantity, event.work_order_id) == (Decimal("2.5"), ORDER_ID)


def test_consuming_the_whole_stock_leaves_zero() -> None:
    item = an_item(stock=Decimal("3.25"))

    item.consume(quantity=Decimal("3.25"), work_order_id=ORDER_ID, now=NOW)

    assert item.stock == 0


@pytest.mark.parametrize("stock", ["0", "3.25"])
def test_consuming_more_than_the_stock_is_refused(stock: str) -> None:
    item = an_item(stock=Decimal(stock))
    over = Decimal(stock) + Decimal("0.001")

    refused(item, InsufficientStock, lambda item: item.consume(quantity=over, work_order_id=ORDER_ID, now=NOW))


@pytest.mark.parametrize("quantity", INVALID_QUANTITIES, ids=repr)
def test_consuming_an_invalid_quantity_is_refused(quantity: str) -> None:
    refused(
        an_item(stock=Decimal(3)),
        InvalidQuantity,
        lambda item: item.consume(quantity=Decimal(quantity), work_order_id=ORDER_ID, now=NOW),
    )


# --- adjusting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "stock"), [("-1.5", "2.5"), ("4", "8"), ("-4", "0")])
def test_an_adjustment_changes_the_stock_by_its_delta(delta: str, stock: str) -> None:
    item = an_item(stock=Decimal(4))

    item.adjust(delta=Decimal(delta), reason=" stocktake ", now=NOW)

    assert item.stock == Decimal(stock)
    (event,) = item.collect_events()
    assert isinstance(event, InventoryItem.Adjusted)
    assert (event.delta, event.reason) == (Decimal(delta), "stocktake")


def test_an_adjustment_below_zero_is_refused() -> None:
    refused(
        an_item(stock=Decimal(4)),
        InsufficientStock,
        lambda item: item.adjust(delta=Decimal("-4.001"), reason="stocktake", now=NOW),
    )


def test_an_adjustment_without_a_reason_is_refused() -> None:
    refused(
        an_item(stock=Decimal(4)),
        AdjustmentReasonRequired,
        lambda item: item.adjust(delta=Decimal(1), reason=" \t", now=NOW),
    )


@pytest.mark.parametrize("delta", ["0", "0.0001", "-0.0001", "-1000000000.5", "NaN"], ids=repr)
def test_an_adjustment_by_an_invalid_delta_is_refused(delta: str) -> None:
    refused(
        an_item(stock=Decimal(4)),
        InvalidQuantity,
        lambda item: item.adjust(delta=Decimal(delta), reason="stocktake", now=NOW),
    )
