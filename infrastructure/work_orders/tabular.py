"""Reading an uploaded table (.xlsx or .csv), recognised by its content rather than its name."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from application.work_orders.importing import MAX_UPLOAD_BYTES, UnreadableUpload
from domain.shared.errors import Category

# A small .xlsx can inflate to gigabytes (a zip bomb): refuse archives that claim to.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
XLSX = "xlsx"
CSV = "csv"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    """The header row, and the rows after it numbered as a spreadsheet numbers them."""

    kind: str
    header: Sequence[Any]
    rows: Iterator[tuple[int, Sequence[Any]]]


def sniff(data: bytes) -> str:
    """``xlsx`` or ``csv`` from the bytes themselves; raises ``UnreadableUpload`` otherwise."""
    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                unpacked = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise _unsupported("The file looks like a zip archive but is damaged") from None
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise _unsupported("The zip archive is not an Excel workbook (.xlsx)")
        if unpacked > MAX_UNPACKED_BYTES:
            raise UnreadableUpload(Category.TOO_LARGE, "payload_too_large", "The workbook unpacks to more than 200 MB")
        return XLSX
    if b"\x00" in data[:65536]:
        raise _unsupported("The file is neither an .xlsx workbook nor a UTF-8 CSV text")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unsupported("A CSV file must be UTF-8 text") from None
    return CSV


def read_table(data: bytes, filename: str | None) -> Table:
    """The table in ``data``; the name's extension, when it has one we know, must match the content."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableUpload(Category.TOO_LARGE, "payload_too_large", "The file is larger than 10 MB")
    if not data:
        raise UnreadableUpload(Category.INVALID, "empty_file", "The file is empty")
    kind = sniff(data)
    extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if extension not in {"", XLSX, CSV}:
        raise _unsupported(f"Upload a .xlsx or .csv file, not .{extension}")
    if extension and extension != kind:
        raise _unsupported(f"The file is named .{extension} but its content is {kind}")
    rows = _xlsx_rows(data) if kind == XLSX else _csv_rows(data)
    try:
        header = next(rows)[1]
    except StopIteration:
        raise UnreadableUpload(Category.INVALID, "empty_file", "The file has no header row") from None
    return Table(kind, header, rows)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken workbook
        raise _unsupported(f"The workbook cannot be read: {type(error).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    text = data.decode("utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        # Records, not physical lines: a quoted cell may span several lines.
        yield from enumerate(reader, start=1)
    except csv.Error:
        # The csv module's own words stay out of the answer (library text never reaches a client).
        detail = f"Line {reader.line_num} is not well-formed CSV (check its quotes and delimiters)"
        raise UnreadableUpload(Category.INVALID, "malformed_csv", detail) from None


def _unsupported(detail: str) -> UnreadableUpload:
    return UnreadableUpload(Category.UNSUPPORTED, "unsupported_media_type", detail)


class UploadedTables:
    """The ``TableReader`` of the Work orders application: .xlsx and .csv, told apart by content."""

    def read(self, data: bytes, filename: str | None) -> Table:
        return read_table(data, filename)
