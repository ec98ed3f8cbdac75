"""The Work orders application over the in-memory store: load, decide, save; what the store holds
after each command, and that a refused command leaves it as it was."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import UUID

import pytest
from application.ports import AccountDirectory
from domain.account import ACTIVE, SUSPENDED

from application.accounts.application import AccountStanding
from application.shared.commands import CommandContext
from application.work_orders.application import WorkOrdersApplication
from application.work_orders.importing import ImportRejected, RowError
from domain.inventory.errors import InsufficientStock, SkuTaken
from domain.inventory.item import SKU_SCOPE, InventoryItem
from domain.shared.errors import NotFound
from domain.shared.unique_key import UniqueKey, unique_id
from domain.work_orders.errors import InvalidWelder, InvalidWorkOrder, NotAssignedWelder, OrderNumberTaken
from domain.work_orders.new_order import NewWorkOrder
from domain.work_orders.work_order import ASSIGNED, COMPLETED, ORDER_NUMBER_SCOPE, WorkOrder
from tests.unit.builders import INSPECTOR_ID, NOW, OTHER_WELDER_ID, WELDER_ID, a_new_work_order

CTX = CommandContext(actor="test", correlation_id="c", causation_id="c", now=NOW)
OPERATOR = AccountStanding(status=ACTIVE, roles=("operator", "user"))


class FakeAccountDirectory(AccountDirectory):
    """The Accounts context as the work orders see it: standings set by the test."""

    def __init__(self, standings: dict[UUID, AccountStanding]) -> None:
        self.standings = standings

    def standing(self, account_id: UUID) -> AccountStanding | None:
        return self.standings.get(account_id)


@pytest.fixture
def accounts() -> FakeAccountDirectory:
    return FakeAccountDirectory({WELDER_ID: OPERATOR})


@pytest.fixture
def app(accounts: FakeAccountDirectory) -> WorkOrdersApplication:
    return WorkOrdersApplication(accounts, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def stored_events(app: WorkOrdersApplication) -> list[str]:
    """The topic of every event in the log, in order."""
    return [notification.topic for notification in app.recorder.select_notifications(start=1, limit=10_000)]


def order_in_store(app: WorkOrdersApplication, order_id: UUID) -> WorkOrder:
    order: object = app.repository.get(order_id)
    assert isinstance(order, WorkOrder)
    return order


def item_in_store(app: WorkOrdersApplication, item_id: UUID) -> InventoryItem:
    item: object = app.repository.get(item_id)
    assert isinstance(item, InventoryItem)
    return item


def an_order_in_progress(app: WorkOrdersApplication) -> UUID:
    order_id = app.create_work_order(CTX, a_new_work_order()).id
    app.assign_welder(CTX, order_id, WELDER_ID)
    app.start_work(CTX, order_id, WELDER_ID)
    return order_id


def an_item_in_stock(app: WorkOrdersApplication, stock: str) -> UUID:
    item_id = app.register_item(CTX, sku="ROD-316L", name="Filler rod", unit="kg", reorder_level=Decimal(1)).id
    app.receive_stock(CTX, item_id, Decimal(stock), note="delivery")
    return item_id


def numbered(*orders: NewWorkOrder) -> list[tuple[int, NewWorkOrder]]:
    return list(enumerate(orders, start=2))


# --- creating orders ----------------------------------------------------------------------------


def test_a_created_order_is_stored_and_claims_its_number(app: WorkOrdersApplication) -> None:
    result = app.create_work_order(CTX, a_new_work_order(order_number="wo-1001"))

    order = order_in_store(app, result.id)
    claim: object = app.repository.get(unique_id(ORDER_NUMBER_SCOPE, "WO-1001"))
    assert (order.order_number, order.version) == ("wo-1001", result.version)
    assert isinstance(claim, UniqueKey)
    assert claim.owner_id == result.id


@pytest.mark.parametrize("number", ["WO-1001", "wo-1001"])
def test_a_number_already_taken_is_refused_and_nothing_is_stored(app: WorkOrdersApplication, number: str) -> None:
    app.create_work_order(CTX, a_new_work_order(order_number="WO-1001"))
    before = stored_events(app)

    with pytest.raises(OrderNumberTaken):
        app.create_work_order(CTX, a_new_work_order(order_number=number, client="Someone else"))

    assert stored_events(app) == before


def test_a_number_claimed_between_the_check_and_the_save_is_still_refused(
    app: WorkOrdersApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.create_work_order(CTX, a_new_work_order())
    before = stored_events(app)
    # As if the other order had been saved just after this command looked the number up.
    monkeypatch.setattr(app, "_number_taken", lambda new: False)

    with pytest.raises(OrderNumberTaken):
        app.create_work_order(CTX, a_new_work_order(client="Someone else"))

    assert stored_events(app) == before


def test_an_invalid_order_is_refused_and_nothing_is_stored(app: WorkOrdersApplication) -> None:
    with pytest.raises(InvalidWorkOrder):
        app.create_work_order(CTX, a_new_work_order(client=""))

    assert stored_events(app) == []


# --- inventory ------------------------------------------------------------------------------------


def test_a_registered_item_is_stored_and_claims_its_sku(app: WorkOrdersApplication) -> None:
    result = app.register_item(CTX, sku="rod-316l", name="Filler rod", unit="kg", reorder_level=Decimal(1))

    claim: object = app.repository.get(unique_id(SKU_SCOPE, "ROD-316L"))
    assert item_in_store(app, result.id).sku == "rod-316l"
    assert isinstance(claim, UniqueKey)
    assert claim.owner_id == result.id


def test_a_sku_already_taken_is_refused_and_nothing_is_stored(app: WorkOrdersApplication) -> None:
    app.register_item(CTX, sku="ROD-316L", name="Filler rod", unit="kg", reorder_level=Decimal(1))
    before = stored_events(app)

    with pytest.raises(SkuTaken):
        app.register_item(CTX, sku=" rod-316l ", name="Another rod", unit="kg", reorder_level=Decimal(0))

    assert stored_events(app) == before


def test_received_and_adjusted_stock_is_stored(app: WorkOrdersApplication) -> None:
    item_id = an_item_in_stock(app, "10")

    app.adjust_stock(CTX, item_id, Decimal("-2.5"), reason="stocktake")

    assert item_in_store(app, item_id).stock == Decimal("7.5")


# --- consuming material: both streams or neither ------------------------------------------------


def test_consuming_material_changes_the_order_and_the_item_in_one_save(app: WorkOrdersApplication) -> None:
    order_id, item_id = an_order_in_progress(app), an_item_in_stock(app, "10")
    before = len(stored_events(app))

    result = app.consume_material(CTX, order_id, welder_id=WELDER_ID, item_id=item_id, quantity=Decimal("2.5"))

    assert order_in_store(app, order_id).materials == {str(item_id): Decimal("2.5")}
    assert item_in_store(app, item_id).stock == Decimal("7.5")
    new_events = stored_events(app)[before:]
    assert len(new_events) == 2
    assert result.position == before + 2


def test_consuming_more_than_the_stock_leaves_both_the_order_and_the_item_unchanged(
    app: WorkOrdersApplication,
) -> None:
    order_id, item_id = an_order_in_progress(app), an_item_in_stock(app, "2")
    order_before, item_before = order_in_store(app, order_id), item_in_store(app, item_id)

    with pytest.raises(InsufficientStock):
        app.consume_material(CTX, order_id, welder_id=WELDER_ID, item_id=item_id, quantity=Decimal("2.001"))

    assert order_in_store(app, order_id) == order_before
    assert item_in_store(app, item_id) == item_before


def test_material_refused_by_the_order_is_not_taken_from_stock(app: WorkOrdersApplication) -> None:
    order_id, item_id = an_order_in_progress(app), an_item_in_stock(app, "2")
    item_before = item_in_store(app, item_id)

    with pytest.raises(NotAssignedWelder):
        app.consume_material(CTX, order_id, welder_id=OTHER_WELDER_ID, item_id=item_id, quantity=Decimal(1))

    assert item_in_store(app, item_id) == item_before


def test_consuming_an_unknown_item_is_not_found_and_leaves_the_order_unchanged(app: WorkOrdersApplication) -> None:
    order_id = an_order_in_progress(app)
    order_before = order_in_store(app, order_id)

    with pytest.raises(NotFound):
        app.consume_material(CTX, order_id, welder_id=WELDER_ID, item_id=order_id, quantity=Decimal(1))

    assert order_in_store(app, order_id) == order_before


# --- assigning a welder ---------------------------------------------------------------------------


def test_an_active_operator_is_assigned(app: WorkOrdersApplication) -> None:
    order_id = app.create_work_order(CTX, a_new_work_order()).id

    app.assign_welder(CTX, order_id, WELDER_ID)

    order = order_in_store(app, order_id)
    assert (order.status, order.welder_id) == (ASSIGNED, WELDER_ID)


@pytest.mark.parametrize(
    "standing",
    [
        None,
        AccountStanding(status=SUSPENDED, roles=("operator", "user")),
        AccountStanding(status=ACTIVE, roles=("user",)),
    ],
    ids=["unknown-account", "suspended-operator", "active-non-operator"],
)
def test_a_welder_who_is_not_an_active_operator_is_refused(
    app: WorkOrdersApplication, accounts: FakeAccountDirectory, standing: AccountStanding | None
) -> None:
    if standing is not None:
        accounts.standings[OTHER_WELDER_ID] = standing
    order_id = app.create_work_order(CTX, a_new_work_order()).id
    before = stored_events(app)

    with pytest.raises(InvalidWelder):
        app.assign_welder(CTX, order_id, OTHER_WELDER_ID)

    assert stored_events(app) == before


def test_an_order_is_worked_from_creation_to_completion(app: WorkOrdersApplication) -> None:
    order_id = an_order_in_progress(app)
    app.record_inspection(CTX, order_id, inspector_id=INSPECTOR_ID, passed=False, notes="porous")
    app.send_to_rework(CTX, order_id, reason="porous seam")
    app.start_work(CTX, order_id, WELDER_ID)
    app.record_inspection(CTX, order_id, inspector_id=INSPECTOR_ID, passed=True, notes="")

    result = app.complete(CTX, order_id)

    order = order_in_store(app, order_id)
    assert (order.status, order.inspections, order.version) == (COMPLETED, 2, result.version)


# --- bulk import ----------------------------------------------------------------------------------


def test_an_import_creates_every_order_in_file_order(app: WorkOrdersApplication) -> None:
    rows = numbered(*(a_new_work_order(order_number=f"WO-{n}") for n in (3, 1, 2)))

    result = app.import_work_orders(CTX, rows)

    assert [order_in_store(app, order_id).order_number for order_id in result.ids] == ["WO-3", "WO-1", "WO-2"]
    assert result.position == len(stored_events(app)) == 6  # each order and its number's claim


def test_numbers_claimed_by_an_import_are_taken(app: WorkOrdersApplication) -> None:
    app.import_work_orders(CTX, numbered(a_new_work_order(order_number="WO-7")))

    with pytest.raises(OrderNumberTaken):
        app.create_work_order(CTX, a_new_work_order(order_number="wo-7"))


def test_an_import_repeating_a_number_is_rejected_naming_both_rows_and_creates_nothing(
    app: WorkOrdersApplication,
) -> None:
    first = a_new_work_order(order_number="WO-1")
    rows = numbered(first, a_new_work_order(order_number="WO-2"), replace(first, order_number=" wo-1"))

    with pytest.raises(ImportRejected) as rejected:
        app.import_work_orders(CTX, rows)

    assert rejected.value.errors == [RowError(4, "order_number", "repeats the order number of row 2")]
    assert stored_events(app) == []


def test_an_import_of_an_existing_number_is_rejected_with_its_row_and_creates_nothing(
    app: WorkOrdersApplication,
) -> None:
    app.create_work_order(CTX, a_new_work_order(order_number="WO-2"))
    before = stored_events(app)
    rows = numbered(a_new_work_order(order_number="WO-1"), a_new_work_order(order_number="wo-2"))

    with pytest.raises(ImportRejected) as rejected:
        app.import_work_orders(CTX, rows)

    assert [(error.row, error.column) for error in rejected.value.errors] == [(3, "order_number")]
    assert "already exists" in rejected.value.errors[0].message
    assert stored_events(app) == before


def test_an_import_reports_parse_problems_with_taken_and_repeated_numbers_in_row_order(
    app: WorkOrdersApplication,
) -> None:
    app.create_work_order(CTX, a_new_work_order(order_number="WO-1"))
    before = stored_events(app)
    rows = [(2, a_new_work_order(order_number="WO-5")), (3, a_new_work_order(order_number="WO-1"))]
    rows += [(5, a_new_work_order(order_number="wo-5"))]
    parse_problem = RowError(4, "due_date", "a date as YYYY-MM-DD")

    with pytest.raises(ImportRejected) as rejected:
        app.import_work_orders(CTX, rows, [parse_problem])

    assert [(error.row, error.column) for error in rejected.value.errors] == [
        (3, "order_number"),
        (4, "due_date"),
        (5, "order_number"),
    ]
    assert stored_events(app) == before


def test_an_import_with_parse_problems_alone_creates_nothing(app: WorkOrdersApplication) -> None:
    with pytest.raises(ImportRejected):
        app.import_work_orders(CTX, numbered(a_new_work_order()), [RowError(3, "client", "must not be empty")])

    assert stored_events(app) == []
