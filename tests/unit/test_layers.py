"""Imports go one way only, and contexts stay apart.

- Layers: domain ← application ← projections ← infrastructure / interfaces; infrastructure never
  imports interfaces, and the command line never imports the HTTP edge.
- Contexts: a module of one context (``<layer>/<context>/``) imports no other context, except what a
  context publishes for others to read: its query interface (``infrastructure/<context>/queries.py``)
  and its response shapes (``interfaces/http/<context>/schemas.py``). A ``shared`` package imports no
  context at all. Only the composition root and the app factory see every context.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "application", "projections", "infrastructure", "interfaces")

FORBIDDEN: dict[str, frozenset[str]] = {
    "domain": frozenset(
        {"application", "projections", "infrastructure", "interfaces"}
        | {"fastapi", "starlette", "sqlalchemy", "pydantic", "pydantic_settings", "psycopg", "psycopg2", "redis"}
    ),
    "application": frozenset(
        {"projections", "infrastructure", "interfaces"} | {"fastapi", "starlette", "sqlalchemy", "psycopg", "psycopg2"}
    ),
    "projections": frozenset({"infrastructure", "interfaces"} | {"fastapi", "starlette", "sqlalchemy"}),
    "infrastructure": frozenset({"interfaces", "fastapi", "starlette"}),
}
# The command line reaches the HTTP edge by name only (uvicorn imports the factory).
FORBIDDEN_PREFIXES = {"interfaces.cli": ("interfaces.http",)}

CONTEXTS = frozenset(p.name for p in (ROOT / "domain").iterdir() if p.is_dir() and (p / "__init__.py").exists()) - {
    "shared"
}
# What one context may import from another: the facts it publishes for reading.
PUBLISHED = ("infrastructure.{context}.queries", "interfaces.http.{context}.schemas")
# The composition: they wire every context together, so they may import any.
COMPOSITION = frozenset({"infrastructure.root", "interfaces.http.app", "interfaces.cli"})


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the module being ``module``."""
    package = module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def context_of(module: str) -> str | None:
    """The context a module belongs to, ``shared`` for a shared package, None for a layer's own top."""
    parts = module.split(".")
    if parts[:2] == ["interfaces", "http"]:
        parts = parts[1:]
    if len(parts) < 2:
        return None
    name = parts[1]
    if name in CONTEXTS:
        return name
    return "shared" if name in {"shared", "operations"} else None


def layer_violations(layer: str, source: str, module: str, where: str) -> list[str]:
    problems = [
        f"{where}:{line} imports {name!r}, which {layer}/ must not depend on"
        for line, name in imported_modules(source, module)
        if name.split(".")[0] in FORBIDDEN.get(layer, frozenset())
    ]
    for prefix in FORBIDDEN_PREFIXES.get(module, ()):
        problems += [
            f"{where}:{line} imports {name!r}: {module} must not import {prefix}"
            for line, name in imported_modules(source, module)
            if name == prefix or name.startswith(prefix + ".")
        ]
    return problems


def context_violations(source: str, module: str, where: str) -> list[str]:
    if module in COMPOSITION:
        return []
    mine = context_of(module)
    if mine is None:
        return []
    problems = []
    for line, name in imported_modules(source, module):
        if name.split(".")[0] not in LAYERS:
            continue
        theirs = context_of(name)
        if theirs is None or theirs == "shared" or theirs == mine:
            continue
        published = {pattern.format(context=theirs) for pattern in PUBLISHED}
        if mine == "shared":
            problems.append(f"{where}:{line} imports {name!r}: a shared package imports no context")
        elif name not in published:
            problems.append(
                f"{where}:{line} imports {name!r}: the {mine} context may use {theirs} only through "
                f"a port or what it publishes ({', '.join(sorted(published))})"
            )
    return problems


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_problems(check: str) -> list[str]:
    found = []
    for layer in LAYERS:
        files = sorted((ROOT / layer).rglob("*.py"))
        assert files, f"no Python files found under {layer}/"
        for path in files:
            source, module, where = path.read_text(encoding="utf-8"), module_name(path), str(path.relative_to(ROOT))
            if check == "layers":
                found += layer_violations(layer, source, module, where)
            else:
                found += context_violations(source, module, where)
    return found


def test_a_layer_imports_only_from_the_layers_beneath_it() -> None:
    found = all_problems("layers")

    assert not found, "Imports against the layering:\n" + "\n".join(found)


def test_a_context_uses_another_only_through_a_port_or_what_it_publishes() -> None:
    found = all_problems("contexts")

    assert not found, "Imports across contexts:\n" + "\n".join(found)


def test_every_context_has_a_package_in_every_layer() -> None:
    missing = [
        f"{layer}/{context}/"
        for context in sorted(CONTEXTS)
        for layer in ("domain", "application", "projections", "infrastructure", "interfaces/http")
        if not (ROOT / layer / context / "__init__.py").exists()
    ]

    assert {"accounts", "work_orders", "inventory"} <= CONTEXTS
    assert missing == []


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from infrastructure.shared.settings import Settings", "domain.accounts.account"),
        ("import sqlalchemy.orm", "domain.accounts.account"),
        ("from ...interfaces import http", "domain.accounts.account"),
        ("def f():\n    from pydantic import BaseModel", "domain.accounts.account"),
    ],
    ids=["from-import", "dotted-import", "relative-import", "import-inside-a-function"],
)
def test_the_layer_check_catches_a_forbidden_import(source: str, module: str) -> None:
    assert layer_violations("domain", source, module, "domain/accounts/account.py")


def test_the_layer_check_catches_infrastructure_importing_interfaces_and_the_cli_importing_http() -> None:
    assert layer_violations("infrastructure", "from interfaces.http.shared import problems", "infrastructure.root", "x")
    assert layer_violations("interfaces", "from interfaces.http.app import create_app", "interfaces.cli", "x")


def test_the_layer_check_allows_imports_from_lower_layers_and_within_a_layer() -> None:
    source = "from domain.accounts.account import Account\nfrom . import ports\nimport eventsourcing.domain"

    assert layer_violations("application", source, "application.accounts.application", "x") == []


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from domain.accounts.values import AccountStatus", "application.work_orders.application"),
        ("from infrastructure.inventory.tables import inventory_items", "infrastructure.work_orders.queries"),
        ("from application.work_orders.ports import Stock", "application.inventory.application"),
        ("from domain.work_orders.work_order import WorkOrder", "domain.shared.unique_key"),
    ],
    ids=["another-contexts-domain", "another-contexts-tables", "another-contexts-port", "shared-importing-a-context"],
)
def test_the_context_check_catches_a_reach_into_another_context(source: str, module: str) -> None:
    assert context_violations(source, module, "x")


def test_the_context_check_allows_what_a_context_publishes_and_the_composition_root() -> None:
    assert (
        context_violations(
            "from infrastructure.inventory.queries import InventoryQueries", "interfaces.http.work_orders.queries", "x"
        )
        == []
    )
    assert (
        context_violations(
            "from interfaces.http.inventory.schemas import ItemPublic", "interfaces.http.work_orders.schemas", "x"
        )
        == []
    )
    assert (
        context_violations("from infrastructure.accounts.wiring import wire_accounts", "infrastructure.root", "x") == []
    )
