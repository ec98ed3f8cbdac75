"""The JSON log line: one object per line, the same values json.dumps(default=str) gave, request id included."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from infrastructure.shared.log_format import JsonLogFormatter, dumps, request_id_var


@dataclass
class Thing:
    name: str


ODD = {
    "text": 'Grüße, 東京 \u2028 "quoted" \n new line',
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "when": datetime(2030, 1, 31, 12, 0, tzinfo=UTC),
    "amount": Decimal("2.500"),
    "thing": Thing("rod"),
    "huge": 2**70,
    "ratio": 0.1,
    "nested": {"list": [1, None, True], 7: "int key"},
}


def test_a_line_holds_the_values_json_dumps_with_str_gave() -> None:
    for name, value in ODD.items():
        expected = json.loads(json.dumps({name: value}, default=str))
        line = dumps({name: value})
        assert "\n" not in line, name
        assert json.loads(line) == expected, name


def test_a_record_becomes_one_json_object_with_its_fields_and_request_id() -> None:
    record = logging.LogRecord("chronicle.http", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"route": "/api/v1/work-orders/{order_id}", "status": 201, "ms": 1.5}
    token = request_id_var.set("req-1")
    try:
        line = JsonLogFormatter().format(record)
    finally:
        request_id_var.reset(token)

    entry = json.loads(line)
    assert entry["request_id"] == "req-1" and entry["message"] == "request" and entry["level"] == "info"
    assert entry["route"] == "/api/v1/work-orders/{order_id}" and entry["status"] == 201 and entry["ms"] == 1.5
    assert isinstance(entry["pid"], int) and entry["logger"] == "chronicle.http"
