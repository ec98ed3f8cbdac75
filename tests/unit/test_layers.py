"""Imports go one way only: domain ← application ← projections ← infrastructure / interfaces."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, frozenset[str]] = {
    "domain": frozenset(
        {"application", "projections", "infrastructure", "interfaces"}
        | {"fastapi", "starlette", "sqlalchemy", "pydantic", "pydantic_settings", "psycopg", "psycopg2", "redis"}
    ),
    "application": frozenset(
        {"projections", "infrastructure", "interfaces"} | {"fastapi", "starlette", "sqlalchemy", "psycopg", "psycopg2"}
    ),
    "projections": frozenset({"infrastructure", "interfaces"} | {"fastapi", "starlette", "sqlalchemy"}),
}


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


def violations(layer: str, source: str, module: str, where: str) -> list[str]:
    return [
        f"{where}:{line} imports {name!r}, which {layer}/ must not depend on"
        for line, name in imported_modules(source, module)
        if name.split(".")[0] in FORBIDDEN[layer]
    ]


def layer_files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_a_layer_imports_only_from_the_layers_beneath_it(layer: str) -> None:
    files = layer_files(layer)
    assert files, f"no Python files found under {layer}/"

    found = [
        problem
        for path in files
        for problem in violations(
            layer, path.read_text(encoding="utf-8"), module_name(path), str(path.relative_to(ROOT))
        )
    ]

    assert not found, "Imports against the layering:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from infrastructure.settings import Settings", "domain.account"),
        ("import sqlalchemy.orm", "domain.account"),
        ("from ..interfaces import http", "domain.account"),
        ("def f():\n    from pydantic import BaseModel", "domain.account"),
    ],
    ids=["from-import", "dotted-import", "relative-import", "import-inside-a-function"],
)
def test_the_layer_check_catches_a_forbidden_import(source: str, module: str) -> None:
    assert violations("domain", source, module, "domain/account.py")


def test_the_layer_check_allows_imports_from_lower_layers_and_within_a_layer() -> None:
    source = "from domain.account import Account\nfrom . import ports\nimport eventsourcing.domain"

    assert violations("application", source, "application.accounts", "application/accounts.py") == []
