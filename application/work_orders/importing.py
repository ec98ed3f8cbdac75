"""Turning an uploaded table's rows into new work orders, with a report of every bad cell."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.shared.errors import Category, DomainError
from domain.shared.text import unstorable
from domain.work_orders.new_order import NewWorkOrder, Priority

REQUIRED_COLUMNS = ("order_number", "client", "description", "machine", "due_date")
OPTIONAL_COLUMNS = ("priority",)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_ROWS = 50_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RowError:
    """One problem in the file: its row number as a spreadsheet shows it (the header is row 1)."""

    row: int
    column: str | None
    message: str


class UnreadableUpload(DomainError):
    """The upload is not a table we read: too large, of another kind, empty or malformed."""

    title = "The upload cannot be imported"

    def __init__(self, category: Category, code: str, detail: str) -> None:
        self.category = category
        self.code = code
        super().__init__(detail)


class ImportRejected(DomainError):
    code = "import_rejected"
    title = "The file was not imported: every row must be valid, and none was created"
    category = Category.INVALID

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) found; nothing was imported")

    def extensions(self) -> dict[str, Any]:
        shown = self.errors[:MAX_REPORTED_ERRORS]
        return {
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in shown],
            "error_count": len(self.errors),
            "errors_truncated": len(shown) < len(self.errors),
        }


def parse_rows(
    header: Sequence[Any], rows: Iterable[tuple[int, Sequence[Any]]]
) -> tuple[list[tuple[int, NewWorkOrder]], list[RowError]]:
    """The valid rows as ``NewWorkOrder``s, and a problem for every bad cell of the others.

    A bad header (or too many rows) raises ``ImportRejected`` at once: the rows cannot be read.
    The caller reports the problems together with those it finds itself (taken order numbers).
    """
    names = [_text(cell).lower() for cell in header]
    errors = [RowError(1, name, "missing column") for name in REQUIRED_COLUMNS if name not in names]
    errors += [RowError(1, name, "unknown column") for name in names if name and name not in COLUMNS]
    errors += [RowError(1, name, "repeated column") for name in COLUMNS if names.count(name) > 1]
    if errors:
        raise ImportRejected(errors)
    orders: list[tuple[int, NewWorkOrder]] = []
    for number, cells in rows:
        if number - 1 > MAX_ROWS:
            raise ImportRejected([RowError(number, None, f"a file holds at most {MAX_ROWS} rows")])
        values = {name: cell for name, cell in zip(names, cells, strict=False) if name}
        # A spreadsheet pads rows to its formatted width: a header-less column is fine while it stays empty.
        unnamed = [cell for index, cell in enumerate(cells) if index >= len(names) or not names[index]]
        if all(_text(value) == "" for value in [*values.values(), *unnamed]):
            continue  # a blank line in a CSV, or an emptied spreadsheet row
        if any(_text(cell) != "" for cell in unnamed):
            errors.append(RowError(number, None, "a value in a column without a header"))
        new, problems = _parse_row(number, values)
        errors += problems
        if new is not None:
            orders.append((number, new))
    if not orders and not errors:
        raise ImportRejected([RowError(2, None, "the file has no rows")])
    return orders, errors


def _parse_row(number: int, values: dict[str, Any]) -> tuple[NewWorkOrder | None, list[RowError]]:
    due = _date(values.get("due_date"))
    errors = [] if due is not None else [RowError(number, "due_date", "a date as YYYY-MM-DD")]
    new = NewWorkOrder(
        order_number=_text(values.get("order_number")),
        client=_text(values.get("client")),
        description=_text(values.get("description")),
        machine=_text(values.get("machine")),
        due_date=due or date.min,
        priority=_text(values.get("priority")).lower() or Priority.NORMAL,
    )
    errors += [RowError(number, problem.field, problem.message) for problem in new.problems()]
    # A cell the stores cannot hold (a NUL, a control character) would stop the read models for good.
    errors += [
        RowError(number, name, reason)
        for name, value in values.items()
        if (reason := unstorable(_text(value), multi_line=name == "description")) is not None
    ]
    return (new if not errors else None), errors


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet stores an order number typed as 1001 as 1001.0
    return str(value).strip()


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not _ISO_DATE.match(text):  # fromisoformat would also take 20300131 or 2030-W05-4
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
