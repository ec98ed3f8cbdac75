"""The work-order timeline read model: every event of an order, who wrote it and when."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.shared.follower import EventHandlers, handles
from domain.shared.quantity import format_quantity
from domain.work_orders.work_order import WorkOrder

_NOT_DETAILS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


class TimelineView(Protocol):
    """What the timeline projection needs from its store (implemented in infrastructure)."""

    def add_entry(
        self, order_id: UUID, version: int, at: datetime, actor: str | None, event: str, details: dict[str, Any]
    ) -> None: ...


class WorkOrderTimelineProjection(EventHandlers[TimelineView]):
    """Folds every WorkOrder event into one timeline entry."""

    name = "work_order_timeline"

    @handles(WorkOrder.Created)
    @handles(WorkOrder.WelderAssigned)
    @handles(WorkOrder.Started)
    @handles(WorkOrder.MaterialConsumed)
    @handles(WorkOrder.InspectionRecorded)
    @handles(WorkOrder.SentToRework)
    @handles(WorkOrder.Completed)
    @handles(WorkOrder.Cancelled)
    def entry(self, e: WorkOrder.Event, view: TimelineView, meta: dict[str, Any]) -> None:
        details = {key: _plain(value) for key, value in vars(e).items() if key not in _NOT_DETAILS}
        view.add_entry(e.originator_id, e.originator_version, e.timestamp, meta.get("actor"), type(e).__name__, details)


def _plain(value: Any) -> Any:
    """A JSON-friendly form of an event field; quantities as everywhere else (three places)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_quantity(value)
    if isinstance(value, UUID):
        return str(value)
    return value
