"""SQL for the work-order read models: list/detail rows, timelines, materials and dashboard counters."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
    func,
    select,
)
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.exc import DBAPIError

from domain.work_order import ACTIVE_STATUSES, STATUSES
from infrastructure.inventory_readmodel import QUANTITY, InventoryQueries
from infrastructure.readstore import (
    Page,
    PendingRows,
    UtcDateTime,
    fetch_page,
    increment,
    like_pattern,
    metadata,
    order_by,
    upsert,
)
from projections.work_orders import CYCLE_SECONDS, CYCLES, INSPECTIONS, INSPECTIONS_PASSED, status_counter

log = logging.getLogger("chronicle.readmodels")

work_orders = Table(
    "rm_work_orders",
    metadata,
    Column("id", SqlUuid, primary_key=True),
    Column("order_number", String(50), nullable=False),
    Column("order_number_key", String(50), nullable=False, unique=True),
    Column("client", String(200), nullable=False),
    Column("client_key", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("machine", String(100), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("priority", String(16), nullable=False),
    Column("priority_rank", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("welder_id", SqlUuid),
    Column("last_inspection_passed", Boolean),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("inspected_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", String(500)),
    Column("version", Integer, nullable=False),
    # One index per filter the list offers, each ending in the column it is most often sorted by.
    Index("ix_rm_work_orders_status_due", "status", "due_date"),
    Index("ix_rm_work_orders_welder_status", "welder_id", "status", "due_date"),
    Index("ix_rm_work_orders_machine_due", "machine", "due_date"),
    Index("ix_rm_work_orders_due", "due_date"),
    Index("ix_rm_work_orders_priority_due", "priority_rank", "due_date"),
    Index("ix_rm_work_orders_created", "created_at"),
)

work_order_timeline = Table(
    "rm_work_order_timeline",
    metadata,
    Column("order_id", SqlUuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64)),
    Column("event", String(64), nullable=False),
    Column("details", JSON, nullable=False),
)

work_order_materials = Table(
    "rm_work_order_materials",
    metadata,
    Column("order_id", SqlUuid, primary_key=True),
    Column("item_id", SqlUuid, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", QUANTITY, nullable=False),
)


@event.listens_for(work_orders, "after_create")
def _client_substring_index(table: Table, connection: Connection, **_: Any) -> None:
    """On PostgreSQL, a trigram index lets ``client LIKE '%acme%'`` use an index instead of a scan.

    It needs the pg_trgm extension; where the role may not create it the list still works,
    by scanning, and a warning says so.
    """
    if connection.dialect.name != "postgresql":
        return
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            connection.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS ix_rm_work_orders_client_trgm "
                f"ON {table.name} USING gin (client_key gin_trgm_ops)"
            )
    except DBAPIError as error:
        log.warning("no trigram index on %s.client_key (client filter will scan): %s", table.name, error.orig)


workshop_counters = Table(
    "rm_workshop_counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Open orders per due date: the overdue count is a sum over the dates before today, a few hundred rows at most.
workshop_due = Table(
    "rm_workshop_due",
    metadata,
    Column("due_date", Date, primary_key=True),
    Column("open_orders", Integer, nullable=False),
)

WORK_ORDER_TABLES = (work_order_timeline, work_order_materials, workshop_counters, workshop_due, work_orders)


class SqlWorkOrdersView:
    """The work-orders projection's writer, bound to the batch's transaction.

    A batch of thousands of events would cost thousands of round trips one statement at a time:
    the batch's order rows and changes, timeline entries and counter changes are held here and
    written in a few batched statements by ``flush``, which the runner calls before committing.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._orders = PendingRows(work_orders, "id")
        self._stored_facts: dict[UUID, tuple[str, date, datetime]] = {}
        self._timeline: list[dict[str, Any]] = []
        self._counters: Counter[str] = Counter()
        self._due: Counter[date] = Counter()

    def add_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._orders.add({"id": order_id, "version": version, "created_at": at, "updated_at": at, **fields})

    def update_order(self, order_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._orders.change(order_id, version=version, updated_at=at, **fields)

    def order_facts(self, order_id: UUID) -> tuple[str, date, datetime]:
        added = self._orders.added_row(order_id)
        if added is not None:
            return added["status"], added["due_date"], added["created_at"]
        if order_id not in self._stored_facts:
            row = self.conn.execute(
                select(work_orders.c.status, work_orders.c.due_date, work_orders.c.created_at).where(
                    work_orders.c.id == order_id
                )
            ).one()
            self._stored_facts[order_id] = (row.status, row.due_date, row.created_at)
        status, due_date, created_at = self._stored_facts[order_id]
        return self._orders.changes(order_id).get("status", status), due_date, created_at

    def add_timeline_entry(
        self, order_id: UUID, version: int, at: datetime, actor: str | None, event: str, details: dict[str, Any]
    ) -> None:
        row = {"order_id": order_id, "version": version, "at": at, "actor": actor, "event": event, "details": details}
        self._timeline.append(row)

    def add_material(self, order_id: UUID, item_id: UUID, sku: str, quantity: Decimal) -> None:
        key = {"order_id": order_id, "item_id": item_id}
        existing = self.conn.execute(
            select(work_order_materials.c.quantity).where(
                work_order_materials.c.order_id == order_id, work_order_materials.c.item_id == item_id
            )
        ).scalar()
        total = Decimal(existing or 0) + quantity
        upsert(self.conn, work_order_materials, {**key, "sku": sku, "quantity": total}, list(key))

    def bump(self, counter: str, delta: int) -> None:
        self._counters[counter] += delta

    def bump_due(self, due_date: date, delta: int) -> None:
        self._due[due_date] += delta

    def flush(self) -> None:
        """Write what the batch held back, in a handful of statements."""
        self._orders.flush(self.conn)
        upsert(self.conn, work_order_timeline, self._timeline, ["order_id", "version"])
        counters = [{"name": name, "value": delta} for name, delta in sorted(self._counters.items()) if delta]
        increment(self.conn, workshop_counters, ["name"], "value", counters)
        due = [{"due_date": day, "open_orders": delta} for day, delta in sorted(self._due.items()) if delta]
        increment(self.conn, workshop_due, ["due_date"], "open_orders", due)
        self._stored_facts.clear()
        self._timeline.clear()
        self._counters.clear()
        self._due.clear()


WORK_ORDER_SORTS = {
    "due_date": work_orders.c.due_date,
    "priority": work_orders.c.priority_rank,
    "created_at": work_orders.c.created_at,
    "order_number": work_orders.c.order_number_key,
}

_PUBLIC_COLUMNS = [c for c in work_orders.c if c.name not in {"order_number_key", "client_key", "priority_rank"}]


class WorkOrderQueries:
    """Reads the work-order read models; never touches aggregates."""

    def __init__(self, engine: Engine, inventory: InventoryQueries) -> None:
        self.engine = engine
        self.inventory = inventory

    def get(self, order_id: UUID) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_PUBLIC_COLUMNS).where(work_orders.c.id == order_id)).mappings().first()
            if row is None:
                return None
            detail = dict(row)
            detail["materials"] = [
                dict(m)
                for m in conn.execute(
                    select(work_order_materials.c.item_id, work_order_materials.c.sku, work_order_materials.c.quantity)
                    .where(work_order_materials.c.order_id == order_id)
                    .order_by(work_order_materials.c.sku)
                ).mappings()
            ]
            detail["timeline"] = [
                dict(t)
                for t in conn.execute(
                    select(work_order_timeline)
                    .where(work_order_timeline.c.order_id == order_id)
                    .order_by(work_order_timeline.c.version)
                ).mappings()
            ]
        return detail

    def search(
        self,
        *,
        limit: int,
        offset: int,
        sort: str,
        today: date,
        status: str | None = None,
        client: str | None = None,
        welder_id: UUID | None = None,
        machine: str | None = None,
        due_from: date | None = None,
        due_to: date | None = None,
        overdue: bool | None = None,
    ) -> Page:
        c = work_orders.c
        conditions: list[Any] = []
        if status:
            conditions.append(c.status == status)
        if client:
            conditions.append(c.client_key.like(like_pattern(client), escape="\\"))
        if welder_id:
            conditions.append(c.welder_id == welder_id)
        if machine:
            conditions.append(c.machine == machine)
        if due_from:
            conditions.append(c.due_date >= due_from)
        if due_to:
            conditions.append(c.due_date <= due_to)
        if overdue is True:
            conditions += [c.due_date < today, c.status.in_(sorted(ACTIVE_STATUSES))]
        elif overdue is False:
            conditions.append((c.due_date >= today) | c.status.not_in(sorted(ACTIVE_STATUSES)))
        query = select(*_PUBLIC_COLUMNS).where(*conditions)
        return fetch_page(self.engine, query, order_by(sort, WORK_ORDER_SORTS, c.id), limit, offset)

    def dashboard(self, today: date, low_stock_limit: int = 50) -> dict[str, Any]:
        """The workshop at a glance, read from counters the projections keep: no scan of orders or events."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(workshop_counters.c.name, workshop_counters.c.value))
            counters: dict[str, int] = {name: value for name, value in rows}
            overdue = conn.execute(
                select(func.coalesce(func.sum(workshop_due.c.open_orders), 0)).where(workshop_due.c.due_date < today)
            ).scalar_one()
        inspections, passed = counters.get(INSPECTIONS, 0), counters.get(INSPECTIONS_PASSED, 0)
        cycles = counters.get(CYCLES, 0)
        return {
            "by_status": {status: counters.get(status_counter(status), 0) for status in STATUSES},
            "overdue": int(overdue),
            "inspections": inspections,
            "inspection_pass_rate": round(passed / inspections, 4) if inspections else None,
            "average_cycle_hours": round(counters.get(CYCLE_SECONDS, 0) / cycles / 3600, 2) if cycles else None,
            "completed_orders": cycles,
            "low_stock": self.inventory.low_stock(low_stock_limit),
        }
