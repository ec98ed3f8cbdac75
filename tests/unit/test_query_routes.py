"""Query routes read read models only: they never load aggregates or call an application."""

from __future__ import annotations

import ast
from pathlib import Path

QUERIES = Path(__file__).parents[2] / "interfaces" / "http" / "queries"
# Auditors replay history by design: the audit routes rebuild state from events.
REPLAY_ALLOWED = {"audit.py"}
FORBIDDEN = {"repository", "AccountsApp", "accounts", "WorkOrdersApp", "work_orders"}


def test_query_routers_touch_no_aggregate_or_application() -> None:
    offenders = []
    for path in sorted(QUERIES.glob("*.py")):
        if path.name in REPLAY_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in FORBIDDEN:
                offenders.append(f"{path.name}:{node.lineno} uses {name}")

    assert offenders == []
