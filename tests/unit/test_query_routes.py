"""Query routes read read models only: they never load aggregates or call an application."""

from __future__ import annotations

import ast
from pathlib import Path

HTTP = Path(__file__).parents[2] / "interfaces" / "http"
# Auditors replay history by design: the audit routes rebuild state from events.
REPLAY_ALLOWED = {"operations/audit.py"}
FORBIDDEN = {"repository", "load", "EventLog", "AccountsApplication", "WorkOrdersApplication", "InventoryApplication"}


def query_modules() -> list[Path]:
    return sorted([*HTTP.glob("*/queries.py"), *HTTP.glob("operations/*.py")])


def test_query_routers_touch_no_aggregate_or_application() -> None:
    modules = query_modules()
    offenders = []
    for path in modules:
        if str(path.relative_to(HTTP)) in REPLAY_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in FORBIDDEN:
                offenders.append(f"{path.relative_to(HTTP)}:{node.lineno} uses {name}")

    assert {p.parent.name for p in modules} >= {"accounts", "work_orders", "inventory", "operations"}
    assert offenders == []
