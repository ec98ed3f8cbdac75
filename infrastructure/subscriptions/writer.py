"""The subscriptions projections' writers: each gathers one batch's writes and flushes them in a few statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, select

from infrastructure.shared.readstore import BatchView, Increments, PendingRows
from infrastructure.subscriptions.tables import (
    invoices,
    plans,
    revenue_by_plan,
    revenue_customers,
    revenue_movements,
    revenue_subscriptions,
    subscription_history,
    subscriptions,
)


class SqlPlansView(BatchView):
    """One row per plan."""

    def __init__(self, conn: Connection) -> None:
        self._plans = PendingRows(plans, "id")
        super().__init__(conn, self._plans)

    def add_plan(self, plan_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._plans.add({"id": plan_id, "version": version, "created_at": at, "updated_at": at, **fields})

    def update_plan(self, plan_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._plans.change(plan_id, version=version, updated_at=at, **fields)


class _Facts:
    """A batch's reads of one stored row's columns, seen through the batch's own pending writes."""

    def __init__(self, conn: Connection, rows: PendingRows, table: Table) -> None:
        self.conn, self.rows, self.table = conn, rows, table
        self._stored: dict[Any, dict[str, Any] | None] = {}

    def get(self, key: Any) -> dict[str, Any] | None:
        added = self.rows.added_row(key)
        if added is not None:
            return added
        if key not in self._stored:
            column = self.table.c[self.rows.key[0]]
            row = self.conn.execute(select(self.table).where(column == key)).mappings().first()
            self._stored[key] = dict(row) if row is not None else None
        stored = self._stored[key]
        return None if stored is None else {**stored, **self.rows.changes(key)}

    def clear(self) -> None:
        self._stored.clear()


class SqlSubscriptionsView(BatchView):
    """One row per subscription, and its invoices."""

    def __init__(self, conn: Connection) -> None:
        self._subscriptions = PendingRows(subscriptions, "id")
        self._invoices = PendingRows(invoices, "id")
        self._facts = _Facts(conn, self._subscriptions, subscriptions)
        super().__init__(conn, self._subscriptions, self._invoices)

    def add_subscription(self, subscription_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        row = {"id": subscription_id, "version": version, "created_at": at, "updated_at": at, **fields}
        self._subscriptions.add(row)

    def update_subscription(self, subscription_id: UUID, version: int, at: datetime, **fields: Any) -> None:
        self._subscriptions.change(subscription_id, version=version, updated_at=at, **fields)

    def subscription(self, subscription_id: UUID) -> dict[str, Any]:
        """The subscription's row as this batch has it (the projection wrote it on ``Started``)."""
        row = self._facts.get(subscription_id)
        if row is None:
            raise LookupError(f"subscription {subscription_id} is not in the read model")
        return row

    def add_invoice(self, invoice_id: UUID, **fields: Any) -> None:
        self._invoices.add({"id": invoice_id, **fields})

    def update_invoice(self, invoice_id: UUID, **fields: Any) -> None:
        self._invoices.change(invoice_id, **fields)

    def flush(self) -> None:
        super().flush()
        self._facts.clear()


class SqlHistoryView(BatchView):
    """Every subscription event, with the account it belongs to."""

    def __init__(self, conn: Connection) -> None:
        self._entries = PendingRows(subscription_history, ("subscription_id", "version"))
        self._accounts: dict[UUID, UUID] = {}
        super().__init__(conn, self._entries)

    def add_entry(
        self,
        subscription_id: UUID,
        version: int,
        account_id: UUID | None,
        at: datetime,
        actor: str | None,
        event: str,
        details: dict[str, Any],
    ) -> None:
        """An entry; ``account_id`` None: the account of the subscription's earlier entries."""
        if account_id is None:
            account_id = self._account_of(subscription_id)
        self._accounts[subscription_id] = account_id
        row = {"account_id": account_id, "at": at, "actor": actor, "event": event, "details": details}
        self._entries.add({"subscription_id": subscription_id, "version": version, **row})

    def _account_of(self, subscription_id: UUID) -> UUID:
        if subscription_id not in self._accounts:
            h = subscription_history.c
            query = select(h.account_id).where(h.subscription_id == subscription_id).limit(1)
            self._accounts[subscription_id] = self.conn.execute(query).scalar_one()
        return self._accounts[subscription_id]

    def flush(self) -> None:
        super().flush()
        self._accounts.clear()


class SqlRevenueView(BatchView):
    """The revenue counters, and what each subscription adds now (to move them by the difference)."""

    def __init__(self, conn: Connection) -> None:
        self._subscriptions = PendingRows(revenue_subscriptions, "subscription_id")
        self._customers = PendingRows(revenue_customers, "account_id")
        self._facts = _Facts(conn, self._subscriptions, revenue_subscriptions)
        self._paid = _Facts(conn, self._customers, revenue_customers)
        self._by_plan = Increments(revenue_by_plan, ["plan_code", "currency", "metric"], "value")
        self._movements = Increments(revenue_movements, ["day", "currency", "kind", "metric"], "value")
        super().__init__(conn, self._subscriptions, self._customers, self._by_plan, self._movements)

    def track(self, subscription_id: UUID, **facts: Any) -> None:
        """Remember a subscription's facts (account, status, plan, price, currency, interval, mrr)."""
        if self._facts.get(subscription_id) is None:
            self._subscriptions.add({"subscription_id": subscription_id, **facts})
        else:
            self._subscriptions.change(subscription_id, **facts)

    def facts(self, subscription_id: UUID) -> dict[str, Any]:
        row = self._facts.get(subscription_id)
        if row is None:
            raise LookupError(f"subscription {subscription_id} is not in the revenue model")
        return row

    def paid_before(self, account_id: UUID) -> bool:
        return self._paid.get(account_id) is not None

    def mark_paid(self, account_id: UUID, day: date) -> None:
        if not self.paid_before(account_id):
            self._customers.add({"account_id": account_id, "first_paid_on": day})

    def bump_plan(self, plan_code: str, currency: str, metric: str, delta: Decimal) -> None:
        self._by_plan.add((plan_code, currency, metric), delta)

    def bump_movement(self, day: date, currency: str, kind: str, metric: str, delta: Decimal) -> None:
        self._movements.add((day, currency, kind, metric), delta)

    def flush(self) -> None:
        super().flush()
        self._facts.clear()
        self._paid.clear()
