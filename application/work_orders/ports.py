"""What the Work orders application needs from other contexts and from the outside world.

Each port is owned here, by the context that uses it; the composition root passes in whatever
implements it (another context's application, an infrastructure adapter). Nothing here imports
another context.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate


class Standing(Protocol):
    """What work orders need to know of an account: whether it can act, and with which roles."""

    @property
    def active(self) -> bool: ...

    @property
    def roles(self) -> tuple[str, ...]: ...


class AccountDirectory(Protocol):
    """Looks an account up by id (to check a welder); the Accounts application answers it."""

    def standing(self, account_id: UUID) -> Standing | None:
        """The account's standing, or None when there is no such account."""
        ...


class StockDraw(Protocol):
    """An item about to give material to an order: its sku, and ``take`` to record the consumption.

    The item comes back unsaved, so the order and the item are saved in one atomic save.
    """

    @property
    def sku(self) -> str: ...

    @property
    def item(self) -> Aggregate: ...

    def take(self, *, quantity: Decimal, work_order_id: UUID, now: datetime) -> None: ...


class Stock(Protocol):
    """Where material comes from; the Inventory application answers it."""

    def draw(self, item_id: UUID) -> StockDraw:
        """The item ``item_id``; raises a not-found error when there is none."""
        ...


class UploadedTable(Protocol):
    """An uploaded table: its header row, and the rows after it numbered as a spreadsheet does."""

    @property
    def header(self) -> Sequence[Any]: ...

    @property
    def rows(self) -> Iterator[tuple[int, Sequence[Any]]]: ...


class TableReader(Protocol):
    """Reads an uploaded file (.xlsx, .csv) into a table; raises ``UnreadableUpload`` when it cannot."""

    def read(self, data: bytes, filename: str | None) -> UploadedTable: ...
