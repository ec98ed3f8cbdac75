"""The WorkOrder aggregate, one behaviour per test: given an order in some status, when a command
runs, then the new state, the events emitted, or the named error (and nothing emitted)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.shared.quantity import InvalidQuantity
from domain.work_orders.errors import (
    InspectorIsWelder,
    InvalidWorkOrder,
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
from domain.work_orders.new_order import normalize_order_number
from domain.work_orders.work_order import (
    ASSIGNED,
    CANCELLED,
    COMPLETED,
    IN_PROGRESS,
    INSPECTION_FAILED,
    INSPECTION_PASSED,
    OPEN,
    REWORK,
    WorkOrder,
)
from tests.unit.builders import (
    DUE,
    INSPECTOR_ID,
    ITEM_ID,
    NOW,
    ORDER_ID,
    OTHER_WELDER_ID,
    WELDER_ID,
    a_cancelled_order,
    a_completed_order,
    a_new_work_order,
    an_assigned_order,
    an_inspected_order,
    an_open_order,
    an_order_in_progress,
    an_order_in_rework,
    event_types,
    refused,
)

LATER = NOW + timedelta(hours=2)


def a_passed_order() -> WorkOrder:
    return an_inspected_order(passed=True)


def a_failed_order() -> WorkOrder:
    return an_inspected_order(passed=False)


def consume(quantity: str = "1.5", welder: UUID = WELDER_ID) -> Callable[[WorkOrder], object]:
    return lambda order: order.consume_material(
        welder_id=welder, item_id=ITEM_ID, sku="ROD-316L", quantity=Decimal(quantity), now=NOW
    )


def inspect(passed: bool) -> Callable[[WorkOrder], object]:
    return lambda order: order.record_inspection(inspector_id=INSPECTOR_ID, passed=passed, notes="ok", now=NOW)


# Every command, as a function of the order, for the "refused in this status" tables.
COMMANDS: dict[str, Callable[[WorkOrder], object]] = {
    "assign": lambda order: order.assign_welder(welder_id=OTHER_WELDER_ID, now=NOW),
    "start": lambda order: order.start(welder_id=WELDER_ID, now=NOW),
    "consume": consume(),
    "inspect": inspect(True),
    "rework": lambda order: order.send_to_rework(reason="porous seam", now=NOW),
    "complete": lambda order: order.complete(now=NOW),
    "cancel": lambda order: order.cancel(reason="client withdrew", now=NOW),
}


# --- creation ---------------------------------------------------------------------------------


def test_a_new_order_is_open_unassigned_and_emits_only_created() -> None:
    order = WorkOrder.create(order_id=ORDER_ID, new=a_new_work_order(priority="urgent"), now=NOW)

    assert (order.id, order.status, order.welder_id) == (ORDER_ID, OPEN, None)
    assert (order.order_number, order.client, order.machine, order.due_date) == ("WO-1001", "Acme Steel", "MIG-3", DUE)
    assert order.priority == "urgent"
    assert order.materials == {}
    assert order.inspections == 0
    assert event_types(order) == [WorkOrder.Created]


def test_creation_trims_the_text_fields() -> None:
    new = a_new_work_order(
        order_number=" WO-1001 ", client="  Acme Steel ", description="\tWeld the frame\n", machine=" MIG-3 "
    )

    order = WorkOrder.create(order_id=ORDER_ID, new=new, now=NOW)

    assert (order.order_number, order.client, order.description, order.machine) == (
        "WO-1001",
        "Acme Steel",
        "Weld the frame",
        "MIG-3",
    )


def test_order_numbers_are_unique_regardless_of_case_and_surrounding_space() -> None:
    assert a_new_work_order(order_number="wo-1001").number_key == normalize_order_number(" WO-1001 ") == "WO-1001"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order_number", ""),
        ("order_number", "-WO-1"),
        ("order_number", "WO 1"),
        ("order_number", "W" * 51),
        ("client", "   "),
        ("client", "C" * 201),
        ("description", ""),
        ("description", "D" * 2001),
        ("machine", ""),
        ("machine", "M" * 101),
        ("priority", "asap"),
        ("priority", "Urgent"),
    ],
    ids=repr,
)
def test_an_invalid_field_is_refused_naming_that_field(field: str, value: str) -> None:
    with pytest.raises(InvalidWorkOrder) as refused_:
        WorkOrder.create(order_id=ORDER_ID, new=a_new_work_order(**{field: value}), now=NOW)

    assert [problem.field for problem in refused_.value.problems] == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [("order_number", "W" * 50), ("order_number", "7"), ("client", "C" * 200), ("machine", "M" * 100)],
    ids=repr,
)
def test_a_field_at_its_limit_is_accepted(field: str, value: str) -> None:
    assert a_new_work_order(**{field: value}).problems() == []


def test_every_invalid_field_is_reported_at_once() -> None:
    new = a_new_work_order(order_number="", client="", machine="", priority="meh")

    with pytest.raises(InvalidWorkOrder) as refused_:
        WorkOrder.create(order_id=ORDER_ID, new=new, now=NOW)

    assert {problem.field for problem in refused_.value.problems} == {"order_number", "client", "machine", "priority"}


# --- assigning a welder -------------------------------------------------------------------------


def test_assigning_a_welder_to_an_open_order_makes_it_assigned() -> None:
    order = an_open_order()

    order.assign_welder(welder_id=WELDER_ID, now=NOW)

    assert (order.status, order.welder_id) == (ASSIGNED, WELDER_ID)
    assert event_types(order) == [WorkOrder.WelderAssigned]


def test_reassigning_an_assigned_order_replaces_the_welder() -> None:
    order = an_assigned_order()

    order.assign_welder(welder_id=OTHER_WELDER_ID, now=NOW)

    assert (order.status, order.welder_id) == (ASSIGNED, OTHER_WELDER_ID)


def test_reassigning_an_order_in_rework_keeps_it_in_rework() -> None:
    order = an_order_in_rework()

    order.assign_welder(welder_id=OTHER_WELDER_ID, now=NOW)

    assert (order.status, order.welder_id) == (REWORK, OTHER_WELDER_ID)


def test_assigning_the_welder_already_assigned_is_refused() -> None:
    refused(an_assigned_order(), WelderAlreadyAssigned, lambda order: order.assign_welder(welder_id=WELDER_ID, now=NOW))


@pytest.mark.parametrize(
    "given", [an_order_in_progress, a_passed_order, a_failed_order], ids=["in-progress", "passed", "failed"]
)
def test_a_welder_cannot_be_assigned_once_work_has_started(given: Callable[[], WorkOrder]) -> None:
    refused(given(), WorkOrderNotAssignable, COMMANDS["assign"])


# --- starting ----------------------------------------------------------------------------------


def test_the_assigned_welder_starts_an_assigned_order() -> None:
    order = an_assigned_order()

    order.start(welder_id=WELDER_ID, now=NOW)

    assert order.status == IN_PROGRESS
    assert event_types(order) == [WorkOrder.Started]


def test_the_assigned_welder_restarts_an_order_sent_back_to_rework() -> None:
    order = an_order_in_rework()

    order.start(welder_id=WELDER_ID, now=NOW)

    assert order.status == IN_PROGRESS


def test_another_welder_cannot_start_the_order() -> None:
    refused(an_assigned_order(), NotAssignedWelder, lambda order: order.start(welder_id=OTHER_WELDER_ID, now=NOW))


@pytest.mark.parametrize(
    "given",
    [an_open_order, an_order_in_progress, a_passed_order, a_failed_order],
    ids=["unassigned", "in-progress", "passed", "failed"],
)
def test_only_an_assigned_order_or_one_in_rework_can_start(given: Callable[[], WorkOrder]) -> None:
    refused(given(), WorkOrderNotStartable, COMMANDS["start"])


# --- consuming materials -----------------------------------------------------------------------


def test_consuming_material_records_its_quantity_against_the_item() -> None:
    order = an_order_in_progress()

    consume("2.250")(order)

    assert order.materials == {str(ITEM_ID): Decimal("2.25")}
    (event,) = order.collect_events()
    assert isinstance(event, WorkOrder.MaterialConsumed)
    assert (event.item_id, event.sku, event.quantity) == (ITEM_ID, "ROD-316L", Decimal("2.250"))


def test_consuming_the_same_item_again_adds_to_its_quantity() -> None:
    order = an_order_in_progress()
    consume("1.5")(order)

    consume("0.75")(order)

    assert order.materials == {str(ITEM_ID): Decimal("2.25")}


def test_another_welder_cannot_consume_material_for_the_order() -> None:
    refused(an_order_in_progress(), NotAssignedWelder, consume(welder=OTHER_WELDER_ID))


@pytest.mark.parametrize("quantity", ["0", "-1", "0.0001", "1000000000.5", "NaN", "Infinity"], ids=repr)
def test_an_invalid_quantity_is_refused(quantity: str) -> None:
    order = an_order_in_progress()

    refused(order, InvalidQuantity, consume(quantity))

    assert order.materials == {}


@pytest.mark.parametrize(
    "given",
    [an_open_order, an_assigned_order, a_passed_order, a_failed_order, an_order_in_rework],
    ids=["open", "assigned", "passed", "failed", "rework"],
)
def test_material_is_consumed_only_while_the_work_is_in_progress(given: Callable[[], WorkOrder]) -> None:
    refused(given(), WorkOrderNotInProgress, consume())


# --- inspection ---------------------------------------------------------------------------------


def test_the_welder_who_did_the_work_may_not_inspect_it() -> None:
    refused(
        an_order_in_progress(),
        InspectorIsWelder,
        lambda order: order.record_inspection(inspector_id=WELDER_ID, passed=True, notes="", now=NOW),
    )


@pytest.mark.parametrize(("passed", "status"), [(True, INSPECTION_PASSED), (False, INSPECTION_FAILED)])
def test_an_inspection_records_its_verdict_as_the_status(passed: bool, status: str) -> None:
    order = an_order_in_progress()

    order.record_inspection(inspector_id=INSPECTOR_ID, passed=passed, notes="  seams checked ", now=NOW)

    assert order.status == status
    assert order.inspections == 1
    (event,) = order.collect_events()
    assert isinstance(event, WorkOrder.InspectionRecorded)
    assert (event.inspector_id, event.passed, event.notes) == (INSPECTOR_ID, passed, "seams checked")


@pytest.mark.parametrize(
    "given",
    [an_open_order, an_assigned_order, a_passed_order, a_failed_order, an_order_in_rework],
    ids=["open", "assigned", "passed", "failed", "rework"],
)
def test_an_inspection_is_recorded_only_while_the_work_is_in_progress(given: Callable[[], WorkOrder]) -> None:
    refused(given(), WorkOrderNotInProgress, inspect(True))


# --- rework ---------------------------------------------------------------------------------------


def test_a_failed_order_goes_back_to_rework_with_its_reason() -> None:
    order = a_failed_order()

    order.send_to_rework(reason=" porous seam ", now=NOW)

    assert order.status == REWORK
    (event,) = order.collect_events()
    assert isinstance(event, WorkOrder.SentToRework)
    assert event.reason == "porous seam"


@pytest.mark.parametrize(
    "given",
    [an_open_order, an_assigned_order, an_order_in_progress, a_passed_order, an_order_in_rework],
    ids=["open", "assigned", "in-progress", "passed", "rework"],
)
def test_only_a_failed_inspection_sends_an_order_to_rework(given: Callable[[], WorkOrder]) -> None:
    refused(given(), ReworkNeedsFailedInspection, COMMANDS["rework"])


def test_rework_without_a_reason_is_refused() -> None:
    refused(a_failed_order(), ReasonRequired, lambda order: order.send_to_rework(reason="  ", now=NOW))


# --- completion ---------------------------------------------------------------------------------


def test_an_order_that_passed_inspection_completes() -> None:
    order = a_passed_order()

    order.complete(now=LATER)

    assert order.status == COMPLETED
    assert order.completed_at == LATER
    assert event_types(order) == [WorkOrder.Completed]


@pytest.mark.parametrize(
    "given",
    [an_open_order, an_assigned_order, an_order_in_progress, a_failed_order, an_order_in_rework],
    ids=["open", "assigned", "in-progress", "failed", "rework"],
)
def test_an_order_without_a_passing_inspection_does_not_complete(given: Callable[[], WorkOrder]) -> None:
    refused(given(), WorkOrderNotReadyForCompletion, COMMANDS["complete"])


def a_restarted_order() -> WorkOrder:
    """Failed its inspection, went back to rework and is in progress again."""
    order = an_order_in_rework()
    order.start(welder_id=WELDER_ID, now=NOW)
    order.collect_events()
    return order


def test_a_restarted_order_does_not_complete_on_the_strength_of_an_earlier_inspection() -> None:
    refused(a_restarted_order(), WorkOrderNotReadyForCompletion, COMMANDS["complete"])


def test_a_restarted_order_completes_once_its_new_inspection_passed() -> None:
    order = a_restarted_order()
    inspect(True)(order)

    order.complete(now=NOW)

    assert order.status == COMPLETED
    assert order.inspections == 2


# --- cancellation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [an_open_order, an_assigned_order, an_order_in_progress, a_passed_order, a_failed_order, an_order_in_rework],
    ids=["open", "assigned", "in-progress", "passed", "failed", "rework"],
)
def test_an_order_not_yet_completed_can_be_cancelled_with_a_reason(given: Callable[[], WorkOrder]) -> None:
    order = given()

    order.cancel(reason=" client withdrew ", now=NOW)

    assert order.status == CANCELLED
    assert order.cancel_reason == "client withdrew"
    assert event_types(order) == [WorkOrder.Cancelled]


def test_cancelling_without_a_reason_is_refused() -> None:
    refused(an_order_in_progress(), ReasonRequired, lambda order: order.cancel(reason="", now=NOW))


# --- a finished order accepts nothing -----------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_completed_order_refuses_every_command(command: Callable[[WorkOrder], object]) -> None:
    refused(a_completed_order(), WorkOrderAlreadyCompleted, command)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_cancelled_order_refuses_every_command(command: Callable[[WorkOrder], object]) -> None:
    refused(a_cancelled_order(), WorkOrderAlreadyCancelled, command)
