"""What creating a work order takes, checked field by field (also for every row of an import)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.work_orders.errors import FieldProblem


class Priority(StrEnum):
    """Priorities in rising urgency; the rank orders them in lists."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


PRIORITIES = tuple(Priority)
ORDER_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,49}$"
_ORDER_NUMBER = re.compile(ORDER_NUMBER_PATTERN)
# Field limits, shared with the edges' schemas so a client that follows the schema is not refused.
LIMITS = {"order_number": 50, "client": 200, "machine": 100, "description": 2000}


@dataclass(frozen=True)
class NewWorkOrder:
    """What creating a work order needs; ``problems`` says what is wrong with it, field by field."""

    order_number: str
    client: str
    description: str
    machine: str
    due_date: date
    priority: str = Priority.NORMAL

    def problems(self) -> list[FieldProblem]:
        found: list[FieldProblem] = []
        if not _ORDER_NUMBER.match(self.order_number.strip()):
            found.append(
                FieldProblem("order_number", "1-50 letters, digits or . _ / -, starting with a letter or digit")
            )
        for name in ("client", "machine", "description"):
            limit = LIMITS[name]
            value = getattr(self, name).strip()
            if not value:
                found.append(FieldProblem(name, "must not be empty"))
            elif len(value) > limit:
                found.append(FieldProblem(name, f"at most {limit} characters"))
        if self.priority not in PRIORITIES:
            found.append(FieldProblem("priority", f"one of {', '.join(p.value for p in PRIORITIES)}"))
        return found

    @property
    def number_key(self) -> str:
        return normalize_order_number(self.order_number)


def normalize_order_number(order_number: str) -> str:
    """The key under which an order number is unique: trimmed and upper-cased."""
    return order_number.strip().upper()
