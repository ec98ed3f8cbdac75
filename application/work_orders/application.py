"""The Work orders application: work orders, from creation (one by one or a whole file) to completion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.utils import EnvType

from application.shared.application import ChronicleApplication
from application.shared.commands import CommandContext, CommandResult
from application.work_orders.importing import MAX_UPLOAD_BYTES, ImportRejected, RowError, UnreadableUpload, parse_rows
from application.work_orders.ports import AccountDirectory, Stock, TableReader
from domain.shared.errors import Category, ConcurrencyConflict
from domain.shared.unique_key import UniqueKey, unique_id
from domain.work_orders.errors import InvalidWelder, OrderNumberTaken
from domain.work_orders.new_order import NewWorkOrder
from domain.work_orders.permissions import WELDER_ROLE
from domain.work_orders.work_order import ORDER_NUMBER_SCOPE, WorkOrder


@dataclass(frozen=True)
class ImportResult:
    """A bulk import's answer: the new orders' ids in file order, and the log position of the last event."""

    ids: list[UUID]
    position: int


class WorkOrdersApplication(ChronicleApplication):
    """Commands of the Work orders context: load, decide, save."""

    snapshotting_intervals: ClassVar = {WorkOrder: 50}

    def __init__(
        self,
        accounts: AccountDirectory,
        stock: Stock,
        tables: TableReader,
        env: EnvType | None = None,
        *,
        shares_log_with: ChronicleApplication | None = None,
    ) -> None:
        super().__init__(env, shares_log_with=shares_log_with)
        self.accounts = accounts
        self.stock = stock
        self.tables = tables

    def create_work_order(self, ctx: CommandContext, new: NewWorkOrder) -> CommandResult:
        if self._number_taken(new):
            raise OrderNumberTaken(f"Work order {new.order_number.strip()} already exists")
        order, claim = self._new_order(new, ctx.now)
        try:
            return self.record(ctx, order, claim)
        except ConcurrencyConflict:
            # The order id is new, so only the number's claim can have lost the race.
            raise OrderNumberTaken(f"Work order {new.order_number.strip()} already exists") from None

    def import_file(self, ctx: CommandContext, data: bytes, filename: str | None) -> ImportResult:
        """Create work orders from an uploaded table (.xlsx or .csv): all of them, or none and a report."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise UnreadableUpload(Category.TOO_LARGE, "payload_too_large", "The file is larger than 10 MB")
        table = self.tables.read(data, filename)
        orders, problems = parse_rows(table.header, table.rows)
        return self.import_work_orders(ctx, orders, problems)

    def import_work_orders(
        self, ctx: CommandContext, rows: Sequence[tuple[int, NewWorkOrder]], problems: Sequence[RowError] = ()
    ) -> ImportResult:
        """Create every order or none: ``problems`` found while parsing, or a taken or repeated number,
        reject the whole file with one report of them all, in row order."""
        errors: list[RowError] = list(problems)
        taken = self.existing({unique_id(ORDER_NUMBER_SCOPE, new.number_key) for _, new in rows})
        first_row: dict[str, int] = {}
        for row, new in rows:
            seen = first_row.setdefault(new.number_key, row)
            if seen != row:
                errors.append(RowError(row, "order_number", f"repeats the order number of row {seen}"))
            elif unique_id(ORDER_NUMBER_SCOPE, new.number_key) in taken:
                errors.append(RowError(row, "order_number", f"work order {new.order_number.strip()} already exists"))
        if not rows and not errors:
            errors.append(RowError(2, None, "the file has no rows"))
        if errors:
            raise ImportRejected(sorted(errors, key=lambda error: error.row))
        created = [self._new_order(new, ctx.now) for _, new in rows]
        try:
            result = self.record(ctx, *(aggregate for pair in created for aggregate in pair))
        except ConcurrencyConflict:
            raise ConcurrencyConflict("Another command created one of these order numbers meanwhile; retry") from None
        return ImportResult(ids=[order.id for order, _ in created], position=result.position)

    def assign_welder(
        self, ctx: CommandContext, order_id: UUID, welder_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        standing = self.accounts.standing(welder_id)
        if standing is None or not standing.active or WELDER_ROLE not in standing.roles:
            raise InvalidWelder(f"Account {welder_id} is not an active account with the {WELDER_ROLE} role")
        order = self.load(order_id, WorkOrder, expected_version)
        order.assign_welder(welder_id=welder_id, now=ctx.now)
        return self.record(ctx, order)

    def start_work(
        self, ctx: CommandContext, order_id: UUID, welder_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        order = self.load(order_id, WorkOrder, expected_version)
        order.start(welder_id=welder_id, now=ctx.now)
        return self.record(ctx, order)

    def consume_material(
        self,
        ctx: CommandContext,
        order_id: UUID,
        *,
        welder_id: UUID,
        item_id: UUID,
        quantity: Decimal,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Take material from stock for the order: both streams change in one atomic save, or neither."""
        order = self.load(order_id, WorkOrder, expected_version)
        draw = self.stock.draw(item_id)
        order.consume_material(welder_id=welder_id, item_id=item_id, sku=draw.sku, quantity=quantity, now=ctx.now)
        draw.take(quantity=quantity, work_order_id=order.id, now=ctx.now)
        return self.record(ctx, order, draw.item)

    def record_inspection(
        self,
        ctx: CommandContext,
        order_id: UUID,
        *,
        inspector_id: UUID,
        passed: bool,
        notes: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        order = self.load(order_id, WorkOrder, expected_version)
        order.record_inspection(inspector_id=inspector_id, passed=passed, notes=notes, now=ctx.now)
        return self.record(ctx, order)

    def send_to_rework(
        self, ctx: CommandContext, order_id: UUID, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        order = self.load(order_id, WorkOrder, expected_version)
        order.send_to_rework(reason=reason, now=ctx.now)
        return self.record(ctx, order)

    def complete_work_order(
        self, ctx: CommandContext, order_id: UUID, expected_version: int | None = None
    ) -> CommandResult:
        order = self.load(order_id, WorkOrder, expected_version)
        order.complete(now=ctx.now)
        return self.record(ctx, order)

    def cancel_work_order(
        self, ctx: CommandContext, order_id: UUID, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        order = self.load(order_id, WorkOrder, expected_version)
        order.cancel(reason=reason, now=ctx.now)
        return self.record(ctx, order)

    def _number_taken(self, new: NewWorkOrder) -> bool:
        return bool(self.existing([unique_id(ORDER_NUMBER_SCOPE, new.number_key)]))

    @staticmethod
    def _new_order(new: NewWorkOrder, now: datetime) -> tuple[WorkOrder, UniqueKey]:
        order = WorkOrder.create(order_id=uuid4(), new=new, now=now)
        claim = UniqueKey.claim(scope=ORDER_NUMBER_SCOPE, key=new.number_key, owner_id=order.id, now=now)
        return order, claim
