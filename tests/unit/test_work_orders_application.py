"""The Work orders application over the in-memory store: load, decide, save; what the store holds
after each command, and that a refused command leaves it as it was.

The work orders and inventory applications append to one in-memory log, as they do in production:
material consumed by an order changes the order and the item in one atomic save."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import UUID

import pytest

from application.accounts.application import AccountStanding
from application.inventory.application import InventoryApplication
from application.shared.application import EventLog
from application.shared.commands import CommandContext
from application.work_orders.application import WorkOrdersApplication
from application.work_orders.importing import MAX_UPLOAD_BYTES, ImportRejected, RowError, UnreadableUpload
from application.work_orders.ports import AccountDirectory
from domain.inventory.errors import InsufficientStock, SkuTaken
from domain.inventory.item import SKU_SCOPE, InventoryItem
from domain.shared.errors import Category, NotFound
from domain.shared.unique_key import UniqueKey, unique_id
from domain.work_orders.errors import InvalidWelder, InvalidWorkOrder, NotAssignedWelder, OrderNumberTaken
from domain.work_orders.new_order import NewWorkOrder
from domain.work_orders.work_order import ASSIGNED, COMPLETED, ORDER_NUMBER_SCOPE, WorkOrder
from infrastructure.work_orders.tabular import UploadedTables
from tests.unit.builders import INSPECTOR_ID, NOW, OTHER_WELDER_ID, WELDER_ID, a_new_work_order

CTX = CommandContext(actor="test", correlation_id="c", causation_id="c", now=NOW)
OPERATOR = AccountStanding(active=True, roles=("operator", "user"))


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
def log() -> EventLog:
    return EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def inventory(log: EventLog) -> InventoryApplication:
    return InventoryApplication(shares_log_with=log)


@pytest.fixture
def app(accounts: FakeAccountDirectory, inventory: InventoryApplication, log: EventLog) -> WorkOrdersApplication:
    return WorkOrdersApplication(accounts, inventory, UploadedTables(), shares_log_with=log)


def stored_events(log: EventLog) -> list[str]:
    """The topic of every event in the log, in order."""
    return [notification.topic for notification in log.recorder.select_notifications(start=1, limit=10_000)]


def order_in_store(app: WorkOrdersApplication, order_id: UUID) -> WorkOrder:
    order: object = app.repository.get(order_id)
    assert isinstance(order, WorkOrder)
    return order


def item_in_store(inventory: InventoryApplication, item_id: UUID) -> InventoryItem:
    item: object = inventory.repository.get(item_id)
    assert isinstance(item, InventoryItem)
    return item


def an_order_in_progress(app: WorkOrdersApplication) -> UUID:
    order_id = app.create_work_order(CTX, a_new_work_order()).id
    app.assign_welder(CTX, order_id, WELDER_ID)
    app.start_work(CTX, order_id, WELDER_ID)
    return order_id


def an_item_in_stock(inventory: InventoryApplication, stock: str) -> UUID:
    item_id = inventory.register_item(CTX, sku="ROD-316L", name="Filler rod", unit="kg", reorder_level=Decimal(1)).id
    inventory.receive_stock(CTX, item_id, Decimal(stock), note="delivery")
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
def test_a_number_already_taken_is_refused_and_nothing_is_stored(
    app: WorkOrdersApplication, log: EventLog, number: str
) -> None:
    app.create_work_order(CTX, a_new_work_order(order_number="WO-1001"))
    before = stored_events(log)

    with pytest.raises(OrderNumberTaken):
        app.create_work_order(CTX, a_new_work_order(order_number=number, client="Someone else"))

    assert stored_events(log) == before


def test_a_number_claimed_between_the_check_and_the_save_is_still_refused(
    app: WorkOrdersApplication, log: EventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.create_work_order(CTX, a_new_work_order())
    before = stored_events(log)
    # As if the other order had been saved just after this command looked the number up.
    monkeypatch.setattr(app, "_number_taken", lambda new: False)

    with pytest.raises(OrderNumberTaken):
        app.create_work_order(CTX, a_new_work_order(client="Someone else"))

    assert stored_events(log) == before


def test_an_invalid_order_is_refused_and_nothing_is_stored(app: WorkOrdersApplication, log: EventLog) -> None:
    with pytest.raises(InvalidWorkOrder):
        app.create_work_order(CTX, a_new_work_order(client=""))

    assert stored_events(log) == []


# --- inventory ------------------------------------------------------------------------------------


def test_a_registered_item_is_stored_and_claims_its_sku(inventory: InventoryApplication) -> None:
    result = inventory.register_item(CTX, sku="rod-316l", name="Filler rod", unit="kg", reorder_level=Decimal(1))

    claim: object = inventory.repository.get(unique_id(SKU_SCOPE, "ROD-316L"))
    assert item_in_store(inventory, result.id).sku == "rod-316l"
    assert isinstance(claim, UniqueKey)
    assert claim.owner_id == result.id


def test_a_sku_already_taken_is_refused_and_nothing_is_stored(inventory: InventoryApplication, log: EventLog) -> None:
    inventory.register_item(CTX, sku="ROD-316L", name="Filler rod", unit="kg", reorder_level=Decimal(1))
    before = stored_events(log)

    with pytest.raises(SkuTaken):
        inventory.register_item(CTX, sku=" rod-316l ", name="Another rod", unit="kg", reorder_level=Decimal(0))

    assert stored_events(log) == before


def test_received_and_adjusted_stock_is_stored(inventory: InventoryApplication) -> None:
    item_id = an_item_in_stock(inventory, "10")

    inventory.adjust_stock(CTX, item_id, Decimal("-2.5"), reason="stocktake")

    assert item_in_store(inventory, item_id).stock == Decimal("7.5")


# --- consuming material: both streams or neither ------------------------------------------------


def test_consuming_material_changes_the_order_and_the_item_in_one_save(
    app: WorkOrdersApplication, inventory: InventoryApplication, log: EventLog
) -> None:
    order_id, item_id = an_order_in_progress(app), an_item_in_stock(inventory, "10")
    before = len(stored_events(log))

    result = app.consume_material(CTX, order_id, welder_id=WELDER_ID, item_id=item_id, quantity=Decimal("2.5"))

    assert order_in_store(app, order_id).materials == {str(item_id): Decimal("2.5")}
    assert item_in_store(inventory, item_id).stock == Decimal("7.5")
    new_events = stored_events(log)[before:]
    assert len(new_events) == 2
    assert result.position == before + 2


def test_consuming_more_than_the_stock_leaves_both_the_order_and_the_item_unchanged(
    app: WorkOrdersApplication, inventory: InventoryApplication
) -> None:
    order_id, item_id = an_order_in_progress(app), an_item_in_stock(inventory, "2")
    order_before, item_before = order_in_store(app, order_id), item_in_store(inventory, item_id)

    with pytest.raises(InsufficientStock):
        app.consume_material(CTX, order_id, welder_id=WELDER_ID, item_id=item_id, quantity=Decimal("2.001"))

    assert order_in_store(app, order_id) == order_before
    assert item_in_store(inventory, item_id) == item_before


def test_material_refused_by_the_order_is_not_taken_from_stock(
    app: WorkOrdersApplication, inventory: InventoryApplication
) -> None:
    order_id, item_id = an_order_in_progress(app), an_item_in_stock(inventory, "2")
    item_before = item_in_store(inventory, item_id)

    with pytest.raises(NotAssignedWelder):
        app.consume_material(CTX, order_id, welder_id=OTHER_WELDER_ID, item_id=item_id, quantity=Decimal(1))

    assert item_in_store(inventory, item_id) == item_before


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
        AccountStanding(active=False, roles=("operator", "user")),
        AccountStanding(active=True, roles=("user",)),
    ],
    ids=["unknown-account", "suspended-operator", "active-non-operator"],
)
def test_a_welder_who_is_not_an_active_operator_is_refused(
    app: WorkOrdersApplication, log: EventLog, accounts: FakeAccountDirectory, standing: AccountStanding | None
) -> None:
    if standing is not None:
        accounts.standings[OTHER_WELDER_ID] = standing
    order_id = app.create_work_order(CTX, a_new_work_order()).id
    before = stored_events(log)

    with pytest.raises(InvalidWelder):
        app.assign_welder(CTX, order_id, OTHER_WELDER_ID)

    assert stored_events(log) == before


def test_an_order_is_worked_from_creation_to_completion(app: WorkOrdersApplication) -> None:
    order_id = an_order_in_progress(app)
    app.record_inspection(CTX, order_id, inspector_id=INSPECTOR_ID, passed=False, notes="porous")
    app.send_to_rework(CTX, order_id, reason="porous seam")
    app.start_work(CTX, order_id, WELDER_ID)
    app.record_inspection(CTX, order_id, inspector_id=INSPECTOR_ID, passed=True, notes="")

    result = app.complete_work_order(CTX, order_id)

    order = order_in_store(app, order_id)
    assert (order.status, order.inspections, order.version) == (COMPLETED, 2, result.version)


# --- bulk import ----------------------------------------------------------------------------------


def test_an_import_creates_every_order_in_file_order(app: WorkOrdersApplication, log: EventLog) -> None:
    rows = numbered(*(a_new_work_order(order_number=f"WO-{n}") for n in (3, 1, 2)))

    result = app.import_work_orders(CTX, rows)

    assert [order_in_store(app, order_id).order_number for order_id in result.ids] == ["WO-3", "WO-1", "WO-2"]
    assert result.position == len(stored_events(log)) == 6  # each order and its number's claim


def test_numbers_claimed_by_an_import_are_taken(app: WorkOrdersApplication) -> None:
    app.import_work_orders(CTX, numbered(a_new_work_order(order_number="WO-7")))

    with pytest.raises(OrderNumberTaken):
        app.create_work_order(CTX, a_new_work_order(order_number="wo-7"))


def test_an_import_repeating_a_number_is_rejected_naming_both_rows_and_creates_nothing(
    app: WorkOrdersApplication, log: EventLog
) -> None:
    first = a_new_work_order(order_number="WO-1")
    rows = numbered(first, a_new_work_order(order_number="WO-2"), replace(first, order_number=" wo-1"))

    with pytest.raises(ImportRejected) as rejected:
        app.import_work_orders(CTX, rows)

    assert rejected.value.errors == [RowError(4, "order_number", "repeats the order number of row 2")]
    assert stored_events(log) == []


def test_an_import_of_an_existing_number_is_rejected_with_its_row_and_creates_nothing(
    app: WorkOrdersApplication, log: EventLog
) -> None:
    app.create_work_order(CTX, a_new_work_order(order_number="WO-2"))
    before = stored_events(log)
    rows = numbered(a_new_work_order(order_number="WO-1"), a_new_work_order(order_number="wo-2"))

    with pytest.raises(ImportRejected) as rejected:
        app.import_work_orders(CTX, rows)

    assert [(error.row, error.column) for error in rejected.value.errors] == [(3, "order_number")]
    assert "already exists" in rejected.value.errors[0].message
    assert stored_events(log) == before


def test_an_import_reports_parse_problems_with_taken_and_repeated_numbers_in_row_order(
    app: WorkOrdersApplication, log: EventLog
) -> None:
    app.create_work_order(CTX, a_new_work_order(order_number="WO-1"))
    before = stored_events(log)
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
    assert stored_events(log) == before


def test_an_import_with_parse_problems_alone_creates_nothing(app: WorkOrdersApplication, log: EventLog) -> None:
    with pytest.raises(ImportRejected):
        app.import_work_orders(CTX, numbered(a_new_work_order()), [RowError(3, "client", "must not be empty")])

    assert stored_events(log) == []


def test_an_uploaded_csv_is_read_and_its_rows_become_orders(app: WorkOrdersApplication) -> None:
    data = b"order_number,client,description,machine,due_date\r\nWO-1,Acme Steel,Weld the frame,MIG-3,2024-06-01"

    result = app.import_file(CTX, data, "orders.csv")

    assert [order_in_store(app, order_id).order_number for order_id in result.ids] == ["WO-1"]


def test_an_upload_over_ten_megabytes_is_refused_as_too_large_and_creates_nothing(
    app: WorkOrdersApplication, log: EventLog
) -> None:
    with pytest.raises(UnreadableUpload) as refused:
        app.import_file(CTX, b"a" * (MAX_UPLOAD_BYTES + 1), "orders.csv")

    assert (refused.value.category, refused.value.code) == (Category.TOO_LARGE, "payload_too_large")
    assert stored_events(log) == []
