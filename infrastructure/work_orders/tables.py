"""The work-order read models' tables: order rows and materials, timelines, and the dashboard's counters."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.exc import DBAPIError

from infrastructure.shared.readstore import QUANTITY, UtcDateTime, metadata

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
    # The schema the table was created in (a rebuild creates it in a schema of its own).
    schema = connection.schema_for_object(table)
    quote = connection.dialect.identifier_preparer.quote
    target = f"{quote(schema)}.{quote(table.name)}" if schema else quote(table.name)
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            connection.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS ix_rm_work_orders_client_trgm "
                f"ON {target} USING gin (client_key gin_trgm_ops)"
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

# What the dashboard projection knows of each order to move its counters (its own, so it reads no other model).
workshop_orders = Table(
    "rm_workshop_orders",
    metadata,
    Column("order_id", SqlUuid, primary_key=True),
    Column("status", String(32), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

WORK_ORDER_TABLES = (work_order_materials, work_orders)
TIMELINE_TABLES = (work_order_timeline,)
DASHBOARD_TABLES = (workshop_counters, workshop_due, workshop_orders)
