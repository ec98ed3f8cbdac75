"""The audit export on PostgreSQL: constant memory however long the log, the command line, and the index
over events of any class."""

from __future__ import annotations

import base64
import gc
import json
import tracemalloc
import uuid

import pytest
from eventsourcing.persistence import StoredEvent
from typer.testing import CliRunner

from infrastructure.root import Chronicle
from infrastructure.shared.audit_index import AuditFilter, AuditIndexQueries
from infrastructure.shared.export import AuditExporter
from interfaces.cli import app
from tests.conftest import TEST_JWT_SECRET, TEST_PII_MASTER_KEY, Clock
from tests.integration.conftest import register


def append_copies(container: Chronicle, count: int, topic: str | None = None) -> None:
    """``count`` more events, each a new stream holding a copy of the state of the first stored event that
    holds no personal field (those are sealed under their own stream's key: a copy elsewhere would not open)."""
    recorder = container.log.recorder
    template = next(n for n in recorder.select_notifications(start=1, limit=20) if ":Account." not in n.topic)
    for start in range(0, count, 5000):
        batch = [
            StoredEvent(
                originator_id=uuid.uuid4(),
                originator_version=1,
                topic=topic or template.topic,
                state=template.state,
            )
            for _ in range(min(5000, count - start))
        ]
        recorder.insert_events(batch)


def export_peak(exporter: AuditExporter) -> tuple[int, int]:
    """(lines, peak bytes traced) of exporting the whole log to a sink that keeps nothing.

    The cyclic collector is off meanwhile, as good as it is late in a long run (full collections come rarely once
    many objects live): garbage in reference cycles made per page (once each page's key lookup) stays until the
    end, so it shows here as growth with the log, in every run, not only in a long one."""
    lines = 0
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for _ in exporter.lines():
            lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    return lines, peak


def test_exporting_ten_times_the_events_takes_no_more_memory(container: Chronicle, clock: Clock) -> None:
    register(container, clock, "first@example.com")
    exporter: AuditExporter = container.services[AuditExporter]
    append_copies(container, 10_000 - container.head_position())

    small_lines, small_peak = export_peak(exporter)
    append_copies(container, 90_000)
    large_lines, large_peak = export_peak(exporter)

    assert (small_lines, large_lines) == (10_000, 100_000)
    # One page (AUDIT_EXPORT_PAGE_SIZE events) is in memory at a time: the peak does not grow with the log.
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)


def test_the_command_line_writes_the_range_as_the_api_does(
    container: Chronicle, clock: Clock, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        register(container, clock, f"{name}@example.com")
    exporter: AuditExporter = container.services[AuditExporter]
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("PII_MASTER_KEY", TEST_PII_MASTER_KEY)
    monkeypatch.setenv("SUPERADMIN_EMAIL", "")

    whole = CliRunner().invoke(app, ["audit", "export"])
    ranged = CliRunner().invoke(app, ["audit", "export", "--after", "2", "--until", "6"])

    assert whole.exit_code == 0, whole.output
    assert whole.stdout_bytes == b"".join(exporter.lines())
    lines = [json.loads(line) for line in whole.stdout_bytes.splitlines()]
    assert [line["position"] for line in lines] == list(range(1, container.head_position() + 1))
    stored = container.log.recorder.select_notifications(start=1, limit=100)
    assert [base64.b64decode(line["stored_state"]) for line in lines] == [n.state for n in stored]
    assert ranged.exit_code == 0, ranged.output
    assert [json.loads(line)["position"] for line in ranged.stdout_bytes.splitlines()] == [3, 4, 5, 6]


def test_the_index_holds_every_event_even_of_a_class_no_module_defines(container: Chronicle, clock: Clock) -> None:
    register(container, clock, "first@example.com")
    append_copies(container, 3, topic="retired.module:Gone.Happened")
    head = container.head_position()

    container.runners["audit_index"].catch_up()

    page = container.services[AuditIndexQueries].page(AuditFilter(type="Gone.Happened"), after=0, limit=10)
    assert page.indexed_to == head
    assert page.positions == [head - 2, head - 1, head]
    exported = [json.loads(line) for line in container.services[AuditExporter].lines(after=head - 3)]
    assert [line["type"] for line in exported] == ["Gone.Happened"] * 3
