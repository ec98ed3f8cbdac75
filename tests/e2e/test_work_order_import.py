"""Bulk import of work orders over HTTP: all rows or none, a report per bad row, uploads checked by content."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from infrastructure.root import Chronicle
from tests.e2e.workshop import Workshop, ok, with_bulk_import

HEADER = ["order_number", "client", "description", "machine", "due_date", "priority"]
URL = "/api/v1/work-orders/import"


@pytest.fixture
def shop(client: TestClient, container: Chronicle) -> Workshop:
    workshop = Workshop(client, container)
    with_bulk_import(container, workshop.manager)  # the manager imports: a plan with the feature
    return workshop


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    return "\n".join(",".join(row) for row in [header, *rows]).encode()


def xlsx_bytes(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(shop: Workshop, name: str, data: bytes, content_type: str = "application/octet-stream") -> object:
    return shop.client.post(URL, files={"file": (name, data, content_type)}, headers=shop.manager.headers)


def test_a_valid_csv_creates_every_order(shop: Workshop) -> None:
    rows = [[f"CSV-{i}", "Acme", "Frame", "MIG-1", "2030-05-01", "high"] for i in range(25)]

    body = ok(upload(shop, "orders.csv", csv_bytes(rows), "text/csv"), 201)

    assert body["imported"] == 25 and len(body["ids"]) == 25
    listed = ok(shop.read("/api/v1/work-orders", min_position=body["position"], limit=100))
    assert listed["total"] == 25
    assert {o["priority"] for o in listed["items"]} == {"high"}


def test_a_valid_workbook_creates_every_order_with_dates_and_numbers_as_the_sheet_holds_them(shop: Workshop) -> None:
    rows: list[list[object]] = [
        [1001, "Acme", "Frame", "MIG-1", date(2030, 5, 1), None],
        ["X-2", "Bolt", "Gate", "TIG", "2030-06-01", "low"],
    ]

    body = ok(upload(shop, "orders.xlsx", xlsx_bytes(rows)), 201)

    listed = ok(shop.read("/api/v1/work-orders", min_position=body["position"], sort="order_number"))
    assert [(o["order_number"], o["due_date"], o["priority"]) for o in listed["items"]] == [
        ("1001", "2030-05-01", "normal"),
        ("X-2", "2030-06-01", "low"),
    ]


def test_one_bad_row_rejects_the_file_with_a_report_per_row_and_creates_nothing(
    shop: Workshop, container: Chronicle
) -> None:
    shop.create("TAKEN-1")
    rows = [
        ["OK-1", "Acme", "Frame", "MIG-1", "2030-05-01", "high"],
        ["OK-2", "", "Frame", "MIG-1", "01/05/2030", "soon"],
        ["TAKEN-1", "Acme", "Frame", "MIG-1", "2030-05-01", "low"],
        ["ok-1", "Acme", "Frame", "MIG-1", "2030-05-01", "low"],
    ]
    head = container.head_position()

    response = upload(shop, "orders.csv", csv_bytes(rows))

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_rejected"
    assert sorted((e["row"], e["column"]) for e in problem["errors"]) == [
        (3, "client"),
        (3, "due_date"),
        (3, "priority"),
        (4, "order_number"),
        (5, "order_number"),
    ]
    assert container.head_position() == head


def test_missing_and_unknown_columns_are_reported_on_the_header_row(shop: Workshop) -> None:
    response = upload(shop, "orders.csv", csv_bytes([["A", "B"]], header=["order_number", "colour"]))

    assert response.status_code == 422
    reported = {(e["row"], e["column"], e["message"]) for e in response.json()["errors"]}
    assert (1, "client", "missing column") in reported and (1, "colour", "unknown column") in reported


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("orders.xlsx", b"order_number,client\nA,B\n", 415),  # named .xlsx, holds CSV text
        ("orders.csv", b"PK\x03\x04 not really a zip", 415),
        ("orders.pdf", b"%PDF-1.7 binary\x00\x01", 415),
        ("orders.csv", "naïve".encode("latin-1") + b"\xff\xfe", 415),
        ("orders.csv", b"", 422),
    ],
    ids=["csv-named-xlsx", "broken-zip", "pdf", "not-utf8", "empty"],
)
def test_uploads_are_checked_by_content_not_only_by_name(shop: Workshop, name: str, data: bytes, status: int) -> None:
    response = upload(shop, name, data)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_file_over_10_mb_is_refused(shop: Workshop) -> None:
    row = "BIG-{},Acme,Frame,MIG-1,2030-05-01,high\n"
    data = ",".join(HEADER).encode() + b"\n" + "".join(row.format(i) for i in range(260_000)).encode()
    assert len(data) > 10 * 1024 * 1024

    response = upload(shop, "big.csv", data)

    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
