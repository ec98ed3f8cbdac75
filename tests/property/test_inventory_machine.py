"""Random stock movements against an InventoryItem, checked against a model of the stock.

Quantities are often taken from the current stock (all of it, just over it) so the boundary of
"stock never goes negative" is hit often. Every rule accepts only the one DomainError the model
predicts; after every step the stock is never negative, equals the sum of the recorded movements,
and the item rebuilt from its events (in memory and through the event store, which snapshots
every three events) equals the live one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.inventory.errors import AdjustmentReasonRequired, InsufficientStock
from domain.inventory.item import InventoryItem
from domain.shared.errors import DomainError
from domain.shared.quantity import InvalidQuantity
from tests.property.replay import Recorder, rebuild, run_command
from tests.unit.builders import ITEM_ID, NOW, ORDER_ID

ONE_THOUSANDTH = Decimal("0.001")
# Up to 10 000 in thousandths: 30 steps stay far below the per-movement bound of 10^9.
amounts = st.integers(min_value=1, max_value=10**7).map(lambda n: Decimal(n).scaleb(-3))
invalid = st.sampled_from(["0", "-0", "0.0001", "2.0005", "1000000000.001", "1.00000000000000000000000000001"])
invalid_amounts = st.one_of(invalid, st.sampled_from(["NaN", "-Infinity"])).map(Decimal)
# How a consumption (or a negative adjustment) is sized: relative to the stock, freely, or invalid.
sizes = st.one_of(
    st.sampled_from(["all", "just over", "half"]),
    st.sampled_from(["all", "just over", "half"]),
    amounts.map(lambda q: ("amount", q)),
    invalid_amounts,
)
reasons = st.sampled_from(["stocktake", " damaged in transit ", "", "  "])


class InventoryMachine(RuleBasedStateMachine):
    item: InventoryItem

    def __init__(self) -> None:
        super().__init__()
        self.recorder = Recorder()
        self.stock = Decimal(0)
        self.reorder_level = Decimal(0)

    def run(self, refusal: type[DomainError] | None, command: Any, *emitted: type) -> bool:
        return run_command(self.recorder, self.item, refusal, command, *emitted)

    def size(self, size: Any) -> tuple[Decimal, bool]:
        """The quantity ``size`` stands for now, and whether it is a valid quantity (by construction)."""
        if isinstance(size, Decimal):
            return size, False
        if isinstance(size, tuple):
            return size[1], True
        quantity = {
            "all": self.stock,
            "just over": self.stock + ONE_THOUSANDTH,
            "half": (self.stock / 2).quantize(ONE_THOUSANDTH),
        }[size]
        return quantity, quantity > 0

    @initialize(reorder_level=st.one_of(st.just(Decimal(0)), amounts))
    def register(self, reorder_level: Decimal) -> None:
        self.item = InventoryItem.register(
            item_id=ITEM_ID, sku="ROD-316L", name="Filler rod", unit="kg", reorder_level=reorder_level, now=NOW
        )
        self.reorder_level = reorder_level
        self.recorder.record(self.item)

    @rule(quantity=st.one_of(*[amounts.map(lambda q: (q, True))] * 3, invalid_amounts.map(lambda q: (q, False))))
    def receive(self, quantity: tuple[Decimal, bool]) -> None:
        amount, valid = quantity
        if self.run(
            None if valid else InvalidQuantity,
            lambda: self.item.receive(quantity=amount, note="delivery", now=NOW),
            InventoryItem.Received,
        ):
            self.stock += amount

    @rule(size=sizes)
    def consume(self, size: Any) -> None:
        amount, valid = self.size(size)
        refusal = InvalidQuantity if not valid else InsufficientStock if amount > self.stock else None
        if self.run(
            refusal,
            lambda: self.item.consume(quantity=amount, work_order_id=ORDER_ID, now=NOW),
            InventoryItem.Consumed,
        ):
            self.stock -= amount

    @rule(size=sizes, negative=st.booleans(), reason=reasons)
    def adjust(self, size: Any, negative: bool, reason: str) -> None:
        amount, valid = self.size(size)
        delta = amount.copy_negate() if negative else amount  # exact: unary minus rounds to 28 digits
        refusal = (
            (InvalidQuantity if not valid else None)
            or (AdjustmentReasonRequired if not reason.strip() else None)
            or (InsufficientStock if self.stock + delta < 0 else None)
        )
        if self.run(refusal, lambda: self.item.adjust(delta=delta, reason=reason, now=NOW), InventoryItem.Adjusted):
            self.stock += delta

    # --- after every step ----------------------------------------------------------------------

    @invariant()
    def the_stock_is_never_negative(self) -> None:
        assert self.item.stock >= 0

    @invariant()
    def the_stock_agrees_with_the_model(self) -> None:
        assert self.item.stock == self.stock
        assert self.item.low_on_stock is (self.stock <= self.reorder_level)

    @invariant()
    def the_stock_is_the_sum_of_the_recorded_movements(self) -> None:
        assert sum(self.movements(), Decimal(0)) == self.item.stock

    @invariant()
    def every_recorded_movement_is_non_zero_with_at_most_three_places(self) -> None:
        assert all(change != 0 and change == change.quantize(ONE_THOUSANDTH) for change in self.movements())

    def movements(self) -> list[Decimal]:
        """How each recorded event changed the stock."""
        changes = []
        for event in self.recorder.events:
            if isinstance(event, InventoryItem.Received):
                changes.append(event.quantity)
            elif isinstance(event, InventoryItem.Consumed):
                changes.append(event.quantity.copy_negate())
            elif isinstance(event, InventoryItem.Adjusted):
                changes.append(event.delta)
        return changes

    @invariant()
    def the_item_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.item

    @invariant()
    def the_item_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.item) == self.item


InventoryMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestInventoryMachine = InventoryMachine.TestCase
