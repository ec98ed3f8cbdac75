"""Bulk import, below the application: an upload's bytes become a table (``read_table``, judged by
content, not by name), and the table's rows become new work orders and a report of every bad cell
(``parse_rows``)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from application.work_orders.importing import MAX_UPLOAD_BYTES, ImportRejected, RowError, UnreadableUpload, parse_rows
from domain.shared.errors import Category
from domain.work_orders.new_order import NewWorkOrder
from infrastructure.work_orders.tabular import CSV, XLSX, read_table

HEADER = ["order_number", "client", "description", "machine", "due_date", "priority"]
ROW = ["WO-1", "Acme Steel", "Weld the frame", "MIG-3", "2024-06-01", "high"]
ORDER = NewWorkOrder("WO-1", "Acme Steel", "Weld the frame", "MIG-3", date(2024, 6, 1), "high")


def numbered(*rows: Sequence[Any]) -> list[tuple[int, Sequence[Any]]]:
    """Rows as a spreadsheet numbers them: the header is row 1."""
    return list(enumerate(rows, start=2))


def orders_of(header: Sequence[Any], *rows: Sequence[Any]) -> list[tuple[int, NewWorkOrder]]:
    """The orders of rows that must all be valid."""
    orders, problems = parse_rows(header, numbered(*rows))
    assert problems == []
    return orders


def problems_of(header: Sequence[Any], *rows: Sequence[Any]) -> list[RowError]:
    return parse_rows(header, numbered(*rows))[1]


def rejection(header: Sequence[Any], *rows: Sequence[Any]) -> list[RowError]:
    """What a file that cannot be read at all is refused for."""
    with pytest.raises(ImportRejected) as rejected:
        parse_rows(header, numbered(*rows))
    return rejected.value.errors


def row(**cells: Any) -> list[Any]:
    return [cells.get(name, value) for name, value in zip(HEADER, ROW, strict=True)]


def xlsx(*rows: Sequence[Any]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for cells in rows:
        sheet.append(list(cells))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zipped(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join(lines).encode(encoding)


def unreadable(data: bytes, filename: str | None) -> UnreadableUpload:
    with pytest.raises(UnreadableUpload) as refused:
        read_table(data, filename)
    return refused.value


# --- parse_rows: the header ---------------------------------------------------------------------


def test_valid_rows_become_new_orders_numbered_by_their_row() -> None:
    orders = orders_of(HEADER, ROW, row(order_number="WO-2", priority=""))

    assert orders == [(2, ORDER), (3, replace(ORDER, order_number="WO-2", priority="normal"))]


def test_header_names_are_matched_without_regard_to_case_space_or_order() -> None:
    header = [" Due_Date", "MACHINE ", "Description", "client", "Order_Number"]

    orders = orders_of(header, ["2024-06-01", "MIG-3", "Weld the frame", "Acme Steel", "WO-1"])

    assert orders == [(2, NewWorkOrder("WO-1", "Acme Steel", "Weld the frame", "MIG-3", date(2024, 6, 1)))]


def test_the_priority_column_is_optional_and_defaults_to_normal() -> None:
    ((_, new),) = orders_of(HEADER[:5], ROW[:5])

    assert new.priority == "normal"


def test_each_missing_required_column_rejects_the_file_on_the_header_row() -> None:
    errors = rejection(["order_number", "client", "priority"], ["WO-1", "Acme", "low"])

    assert errors == [
        RowError(1, "description", "missing column"),
        RowError(1, "machine", "missing column"),
        RowError(1, "due_date", "missing column"),
    ]


def test_an_unknown_column_rejects_the_file_on_the_header_row() -> None:
    errors = rejection([*HEADER, "Colour"], [*ROW, "red"])

    assert errors == [RowError(1, "colour", "unknown column")]


def test_a_repeated_column_rejects_the_file_rather_than_one_copy_silently_winning() -> None:
    errors = rejection([*HEADER, "Client"], [*ROW, "Other Client"])

    assert errors == [RowError(1, "client", "repeated column")]


def test_an_unnamed_column_is_ignored_while_it_stays_empty() -> None:
    # A spreadsheet pads every row to the width of its formatting.
    assert orders_of([*HEADER, None, ""], [*ROW, None, ""]) == [(2, ORDER)]


def test_a_value_under_no_header_is_reported_rather_than_dropped() -> None:
    problems = problems_of([*HEADER, None], ROW, [*ROW[:5], "", "forgotten"], [*row(order_number="WO-3"), "note"])

    assert problems == [
        RowError(3, None, "a value in a column without a header"),
        RowError(4, None, "a value in a column without a header"),
    ]


# --- parse_rows: the cells ----------------------------------------------------------------------


@pytest.mark.parametrize("due", ["01/06/2024", "2024-02-30", "tomorrow", "", None, 45444.0], ids=repr)
def test_a_due_date_that_is_not_a_calendar_date_is_reported_with_its_row_and_column(due: object) -> None:
    assert problems_of(HEADER, ROW, row(order_number="WO-2", due_date=due)) == [
        RowError(3, "due_date", "a date as YYYY-MM-DD")
    ]


@pytest.mark.parametrize("due", [date(2024, 6, 1), datetime(2024, 6, 1, 0, 0), " 2024-06-01 "], ids=repr)
def test_a_spreadsheet_date_or_an_iso_text_date_is_a_due_date(due: object) -> None:
    assert orders_of(HEADER, row(due_date=due)) == [(2, ORDER)]


@pytest.mark.parametrize("priority", ["asap", "1", "très urgent"])
def test_an_unknown_priority_is_reported_with_its_row_and_column(priority: str) -> None:
    problems = problems_of(HEADER, row(priority=priority))

    assert [(problem.row, problem.column) for problem in problems] == [(2, "priority")]


def test_the_priority_is_read_without_regard_to_case() -> None:
    assert orders_of(HEADER, row(priority=" HIGH ")) == [(2, ORDER)]


def test_every_bad_cell_of_every_row_is_reported() -> None:
    problems = problems_of(HEADER, row(client="", machine=None), ROW, row(order_number="-x", due_date="soon"))

    assert sorted((problem.row, problem.column) for problem in problems) == [
        (2, "client"),
        (2, "machine"),
        (4, "due_date"),
        (4, "order_number"),
    ]


def test_only_the_rows_without_problems_become_orders() -> None:
    orders, _ = parse_rows(HEADER, numbered(row(client=""), ROW, row(due_date="soon")))

    assert orders == [(3, ORDER)]


def test_blank_rows_are_skipped_and_later_rows_keep_their_spreadsheet_number() -> None:
    orders = orders_of(HEADER, [None] * 6, ROW, ["", " ", "", "", "", ""], row(order_number="WO-2"))

    assert [number for number, _ in orders] == [3, 5]


def test_a_row_shorter_than_the_header_reports_its_missing_cells() -> None:
    problems = problems_of(HEADER, ROW[:3])

    assert sorted((problem.row, problem.column) for problem in problems) == [(2, "due_date"), (2, "machine")]


@pytest.mark.parametrize("rows", [[], [[None] * 6, [""] * 6]], ids=["no-rows", "only-blank-rows"])
def test_a_file_without_any_order_is_rejected(rows: list[list[Any]]) -> None:
    assert rejection(HEADER, *rows) == [RowError(2, None, "the file has no rows")]


@pytest.mark.parametrize(("cell", "number"), [(1001.0, "1001"), (1001, "1001"), (" WO-7 ", "WO-7")], ids=repr)
def test_an_order_number_typed_as_a_number_in_a_spreadsheet_reads_as_typed(cell: object, number: str) -> None:
    ((_, new),) = orders_of(HEADER, row(order_number=cell))

    assert new.order_number == number


# --- read_table: recognised by content ----------------------------------------------------------


@pytest.mark.parametrize("filename", ["orders.xlsx", "ORDERS.XLSX", "orders", None])
def test_a_workbook_is_read_as_xlsx_from_its_content(filename: str | None) -> None:
    table = read_table(xlsx(HEADER, ROW), filename)

    assert table.kind == XLSX
    assert list(table.header) == HEADER
    assert [(number, list(cells)) for number, cells in table.rows] == [(2, ROW)]


def test_a_workbook_keeps_its_cell_types_for_the_import() -> None:
    table = read_table(xlsx(HEADER, [1001, "Acme", "Weld", "MIG-3", datetime(2024, 6, 1), "low"]), "orders.xlsx")

    ((_, new),), problems = parse_rows(table.header, table.rows)

    assert problems == []
    assert (new.order_number, new.due_date) == ("1001", date(2024, 6, 1))


def test_a_formatted_but_empty_column_of_a_workbook_does_not_stop_the_import() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(ROW)
    sheet["J9"].font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_table(buffer.getvalue(), "orders.xlsx")

    assert parse_rows(table.header, table.rows) == ([(2, ORDER)], [])


@pytest.mark.parametrize("filename", ["orders.csv", "orders.CSV", "orders", None])
def test_utf8_text_is_read_as_csv_from_its_content(filename: str | None) -> None:
    table = read_table(csv_bytes(",".join(HEADER), ",".join(ROW)), filename)

    assert table.kind == CSV
    assert list(table.header) == HEADER
    assert list(table.rows) == [(2, ROW)]


def test_a_csv_with_a_byte_order_mark_reads_its_first_column_name_cleanly() -> None:
    table = read_table(csv_bytes(",".join(HEADER), ",".join(ROW), encoding="utf-8-sig"), "orders.csv")

    assert table.header[0] == "order_number"


def test_a_semicolon_separated_csv_is_split_on_semicolons() -> None:
    table = read_table(
        csv_bytes(";".join(HEADER), "WO-1;Acme Steel;Weld the frame, both sides;MIG-3;2024-06-01;high"), None
    )

    assert list(table.header) == HEADER
    assert list(table.rows) == [
        (2, ["WO-1", "Acme Steel", "Weld the frame, both sides", "MIG-3", "2024-06-01", "high"])
    ]


def test_a_quoted_cell_may_span_lines_and_rows_are_numbered_by_record() -> None:
    data = csv_bytes(",".join(HEADER), 'WO-1,Acme,"Weld\nthe frame",MIG-3,2024-06-01,high', ",".join(ROW))

    rows = list(read_table(data, "orders.csv").rows)

    assert [(number, cells[2]) for number, cells in rows] == [(2, "Weld\nthe frame"), (3, "Weld the frame")]


# --- read_table: refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [(xlsx(HEADER, ROW), "orders.csv"), (csv_bytes(",".join(HEADER)), "orders.xlsx")],
    ids=["workbook-named-csv", "text-named-xlsx"],
)
def test_a_name_that_contradicts_the_content_is_unsupported(data: bytes, filename: str) -> None:
    assert unreadable(data, filename).category == Category.UNSUPPORTED


@pytest.mark.parametrize("filename", ["orders.txt", "orders.xls", "orders.json", "orders.csv.exe"])
def test_an_extension_other_than_xlsx_or_csv_is_unsupported_even_with_readable_content(filename: str) -> None:
    assert unreadable(csv_bytes(",".join(HEADER), ",".join(ROW)), filename).category == Category.UNSUPPORTED


def test_a_zip_archive_that_is_not_a_workbook_is_unsupported() -> None:
    document = zipped({"[Content_Types].xml": "<Types/>", "word/document.xml": "<document/>"})

    assert unreadable(document, "orders.xlsx").category == Category.UNSUPPORTED


def test_a_damaged_zip_is_unsupported() -> None:
    assert unreadable(xlsx(HEADER, ROW)[:200], "orders.xlsx").category == Category.UNSUPPORTED


def test_a_zip_with_the_workbook_parts_but_no_valid_workbook_is_unsupported() -> None:
    fake = zipped({"[Content_Types].xml": "not xml", "xl/workbook.xml": "not xml either"})

    assert unreadable(fake, "orders.xlsx").category == Category.UNSUPPORTED


@pytest.mark.parametrize(
    "data",
    [
        ",".join(HEADER).encode("utf-16"),
        "order_number,client\nWO-1,Müller".encode("latin-1"),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100),
    ],
    ids=["utf-16", "latin-1", "legacy-xls"],
)
def test_content_that_is_neither_a_workbook_nor_utf8_text_is_unsupported(data: bytes) -> None:
    assert unreadable(data, None).category == Category.UNSUPPORTED


def test_a_file_over_ten_megabytes_is_too_large() -> None:
    refusal = unreadable(b"a" * (MAX_UPLOAD_BYTES + 1), "orders.csv")

    assert (refusal.category, refusal.code) == (Category.TOO_LARGE, "payload_too_large")


def test_a_file_of_exactly_ten_megabytes_is_read() -> None:
    header = ",".join(HEADER).encode() + b"\n"

    table = read_table(header + b"x" * (MAX_UPLOAD_BYTES - len(header)), "orders.csv")

    assert list(table.header) == HEADER


def test_an_empty_file_is_unprocessable() -> None:
    refusal = unreadable(b"", "orders.csv")

    assert (refusal.category, refusal.code) == (Category.INVALID, "empty_file")


def test_a_csv_the_csv_module_cannot_read_is_refused_in_our_words_naming_the_line() -> None:
    huge_cell = b"x" * 200_000  # past the csv module's field size limit

    table = read_table(b"order_number,client\nWO-1," + huge_cell + b"\n", "orders.csv")
    with pytest.raises(UnreadableUpload) as refused:
        list(table.rows)

    assert refused.value.code == "malformed_csv"
    assert "Line 2" in str(refused.value)
    assert "field larger" not in str(refused.value)  # the csv module's text stays out of the answer
