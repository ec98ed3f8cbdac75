"""Random command sequences against a WorkOrder, checked against a model of what each command should do.

Every rule runs the domain command and accepts only the one DomainError the model predicts.
After every step the invariants hold (an order completes only after a passing inspection, a
finished order stays finished, materials only grow), and the order rebuilt from its events (in
memory and through the event store, which snapshots every three events) equals the live one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.shared.errors import DomainError
from domain.shared.quantity import InvalidQuantity
from domain.work_orders.errors import (
    NotAssignedWelder,
    ReasonRequired,
    ReworkNeedsFailedInspection,
    WelderAlreadyAssigned,
    WorkOrderAlreadyCancelled,
    WorkOrderAlreadyCompleted,
    WorkOrderNotAssignable,
    WorkOrderNotInProgress,
    WorkOrderNotReadyForCompletion,
    WorkOrderNotStartable,
)
from domain.work_orders.new_order import PRIORITIES, NewWorkOrder
from domain.work_orders.work_order import (
    ASSIGNED,
    CANCELLED,
    COMPLETED,
    IN_PROGRESS,
    INSPECTION_FAILED,
    INSPECTION_PASSED,
    OPEN,
    REWORK,
    STATUSES,
    WorkOrder,
)
from tests.property.replay import Recorder, rebuild, run_command
from tests.unit.builders import INSPECTOR_ID, NOW, ORDER_ID

WELDERS = [UUID(int=0xC1), UUID(int=0xC2), UUID(int=0xC3)]
ITEMS = [UUID(int=0xE1), UUID(int=0xE2)]
# Mostly the welder the order is assigned to (None stands for them), so work gets started.
welders = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(WELDERS))
items = st.sampled_from(ITEMS)
# A quantity and whether it is valid, known by construction rather than by asking the domain.
valid_quantities = st.integers(min_value=1, max_value=10**6).map(lambda n: (Decimal(n).scaleb(-3), True))
invalid_quantities = st.sampled_from(["0", "-1", "0.0001", "1000000000.001", "NaN", "Infinity"]).map(
    lambda text: (Decimal(text), False)
)
quantities = st.one_of(valid_quantities, valid_quantities, invalid_quantities)
reasons = st.sampled_from(["porous seam", " client withdrew ", "", "   "])
# Mostly without a reason (refused): an accepted cancellation ends the run's useful part.
cancel_reasons = st.sampled_from([" client withdrew ", "", "   ", "\t", "\n"])
steps = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
new_orders = st.builds(
    NewWorkOrder,
    order_number=st.from_regex(r"[A-Z0-9][A-Za-z0-9._/-]{0,12}", fullmatch=True),
    client=st.sampled_from(["Acme Steel", "Bolt & Sons"]),
    description=st.text(min_size=1, max_size=30).filter(str.strip),
    machine=st.sampled_from(["MIG-3", "TIG-1"]),
    due_date=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    priority=st.sampled_from(PRIORITIES),
)


def _through(*steps: str) -> list[Callable[[WorkOrderMachine], None]]:
    commands: dict[str, Callable[[WorkOrderMachine], None]] = {
        "assign": lambda machine: machine.assign_welder(WELDERS[0]),
        "start": lambda machine: machine.start(None),
        "pass": lambda machine: machine.record_inspection(True, ""),
        "fail": lambda machine: machine.record_inspection(False, ""),
        "rework": lambda machine: machine.send_to_rework("porous seam"),
    }
    return [commands[step] for step in steps]


# Cancelling ends a run early, so runs also begin deeper into the lifecycle (reached through the rules).
HEAD_STARTS: dict[str, list[Callable[[WorkOrderMachine], None]]] = {
    "open": [],
    "assigned": _through("assign"),
    "in progress": _through("assign", "start"),
    "passed": _through("assign", "start", "pass"),
    "failed": _through("assign", "start", "fail"),
    "rework": _through("assign", "start", "fail", "rework"),
}


@dataclass
class Model:
    """What the order should look like, kept by the rules independently of the aggregate."""

    status: str = OPEN
    welder_id: UUID | None = None
    materials: dict[str, Decimal] = field(default_factory=dict)
    inspections: int = 0
    completed_at: datetime | None = None
    cancel_reason: str | None = None

    def refusal_unless_open(self) -> type[DomainError] | None:
        if self.status == COMPLETED:
            return WorkOrderAlreadyCompleted
        return WorkOrderAlreadyCancelled if self.status == CANCELLED else None

    def refusal_unless_in_progress(self) -> type[DomainError] | None:
        return self.refusal_unless_open() or (WorkOrderNotInProgress if self.status != IN_PROGRESS else None)


class WorkOrderMachine(RuleBasedStateMachine):
    order: WorkOrder

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.recorder = Recorder()
        self.model = Model()
        self.finished_as: str | None = None
        self.materials_seen: dict[str, Decimal] = {}

    def run(self, refusal: type[DomainError] | None, command: Any, *emitted: type) -> bool:
        return run_command(self.recorder, self.order, refusal, command, *emitted)

    @initialize(new=new_orders, head_start=st.sampled_from(list(HEAD_STARTS)))
    def create(self, new: NewWorkOrder, head_start: str) -> None:
        self.order = WorkOrder.create(order_id=ORDER_ID, new=new, now=self.now)
        self.recorder.record(self.order)
        for step in HEAD_STARTS[head_start]:
            step(self)

    def welder(self, choice: UUID | None) -> UUID:
        return choice or self.model.welder_id or WELDERS[0]

    @rule(step=steps)
    def time_passes(self, step: timedelta) -> None:
        self.now += step

    @rule(choice=welders)
    def assign_welder(self, choice: UUID | None) -> None:
        m, welder = self.model, self.welder(choice)
        refusal = (
            m.refusal_unless_open()
            or (WorkOrderNotAssignable if m.status not in (OPEN, ASSIGNED, REWORK) else None)
            or (WelderAlreadyAssigned if welder == m.welder_id else None)
        )
        if self.run(
            refusal, lambda: self.order.assign_welder(welder_id=welder, now=self.now), WorkOrder.WelderAssigned
        ):
            m.welder_id = welder
            m.status = ASSIGNED if m.status == OPEN else m.status

    @rule(choice=welders)
    def start(self, choice: UUID | None) -> None:
        m, welder = self.model, self.welder(choice)
        refusal = (
            m.refusal_unless_open()
            or (WorkOrderNotStartable if m.status not in (ASSIGNED, REWORK) else None)
            or (NotAssignedWelder if welder != m.welder_id else None)
        )
        if self.run(refusal, lambda: self.order.start(welder_id=welder, now=self.now), WorkOrder.Started):
            m.status = IN_PROGRESS

    @rule(choice=welders, item=items, quantity=quantities)
    def consume_material(self, choice: UUID | None, item: UUID, quantity: tuple[Decimal, bool]) -> None:
        m, welder = self.model, self.welder(choice)
        amount, valid = quantity
        refusal = (
            m.refusal_unless_in_progress()
            or (NotAssignedWelder if welder != m.welder_id else None)
            or (InvalidQuantity if not valid else None)
        )
        if self.run(
            refusal,
            lambda: self.order.consume_material(
                welder_id=welder, item_id=item, sku="SKU", quantity=amount, now=self.now
            ),
            WorkOrder.MaterialConsumed,
        ):
            m.materials[str(item)] = m.materials.get(str(item), Decimal(0)) + amount

    @rule(passed=st.booleans(), notes=st.sampled_from(["", " seams ok ", "porosity at weld 3"]))
    def record_inspection(self, passed: bool, notes: str) -> None:
        m = self.model
        if self.run(
            m.refusal_unless_in_progress(),
            lambda: self.order.record_inspection(inspector_id=INSPECTOR_ID, passed=passed, notes=notes, now=self.now),
            WorkOrder.InspectionRecorded,
        ):
            m.status = INSPECTION_PASSED if passed else INSPECTION_FAILED
            m.inspections += 1

    @rule(reason=reasons)
    def send_to_rework(self, reason: str) -> None:
        m = self.model
        refusal = (
            m.refusal_unless_open()
            or (ReworkNeedsFailedInspection if m.status != INSPECTION_FAILED else None)
            or (ReasonRequired if not reason.strip() else None)
        )
        if self.run(refusal, lambda: self.order.send_to_rework(reason=reason, now=self.now), WorkOrder.SentToRework):
            m.status = REWORK

    @rule()
    def complete(self) -> None:
        m = self.model
        refusal = m.refusal_unless_open() or (WorkOrderNotReadyForCompletion if m.status != INSPECTION_PASSED else None)
        if self.run(refusal, lambda: self.order.complete(now=self.now), WorkOrder.Completed):
            m.status, m.completed_at = COMPLETED, self.now
            self.finished_as = COMPLETED

    @rule(reason=cancel_reasons)
    def cancel(self, reason: str) -> None:
        m = self.model
        refusal = m.refusal_unless_open() or (ReasonRequired if not reason.strip() else None)
        if self.run(refusal, lambda: self.order.cancel(reason=reason, now=self.now), WorkOrder.Cancelled):
            m.status, m.cancel_reason = CANCELLED, reason.strip()
            self.finished_as = CANCELLED

    # --- after every step ----------------------------------------------------------------------

    @invariant()
    def the_order_agrees_with_the_model(self) -> None:
        o, m = self.order, self.model
        assert (o.status, o.welder_id, o.inspections) == (m.status, m.welder_id, m.inspections)
        assert o.materials == m.materials
        assert (o.completed_at, o.cancel_reason) == (m.completed_at, m.cancel_reason)

    @invariant()
    def the_status_is_a_known_one(self) -> None:
        assert self.order.status in STATUSES

    @invariant()
    def a_completed_order_was_completed_right_after_a_passing_inspection(self) -> None:
        for before, event in pairwise(self.recorder.events):
            if isinstance(event, WorkOrder.Completed):
                assert isinstance(before, WorkOrder.InspectionRecorded)
                assert before.passed is True

    @invariant()
    def work_is_started_only_by_the_welder_assigned_at_the_time(self) -> None:
        welder = None
        for event in self.recorder.events:
            if isinstance(event, WorkOrder.WelderAssigned):
                welder = event.welder_id
            elif isinstance(event, WorkOrder.Started):
                assert event.welder_id == welder

    @invariant()
    def a_finished_order_stays_finished(self) -> None:
        assert self.finished_as is None or self.order.status == self.finished_as

    @invariant()
    def materials_only_grow_by_positive_quantities(self) -> None:
        materials = self.order.materials
        assert all(quantity > 0 for quantity in materials.values())
        assert all(materials.get(item, Decimal(0)) >= seen for item, seen in self.materials_seen.items())
        self.materials_seen = dict(materials)

    @invariant()
    def the_order_rebuilt_from_its_events_equals_the_live_one(self) -> None:
        assert rebuild(self.recorder.events) == self.order

    @invariant()
    def the_order_read_back_from_the_store_equals_the_live_one(self) -> None:
        assert self.recorder.stored(self.order) == self.order


WorkOrderMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestWorkOrderMachine = WorkOrderMachine.TestCase
