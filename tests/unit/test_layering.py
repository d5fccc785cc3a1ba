"""routing_core is the domain: no web framework, bot library or HTTP client inside."""

from __future__ import annotations

import ast
from pathlib import Path

import routing_core

FORBIDDEN = {
    "quart",
    "quart_schema",
    "aiogram",
    "twilio",
    "hypercorn",
    "aiohttp",
    "httpx",
    "uvicorn",
    "werkzeug",
    "flask",
    "requests",
}
PACKAGE = Path(routing_core.__file__).parent


def imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_routing_core_imports_no_framework() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10  # the walk really found the package
    offenders = {
        str(module.relative_to(PACKAGE)): sorted(imported_roots(module) & FORBIDDEN)
        for module in modules
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_check_sees_nested_and_dotted_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import quart.json\n    from aiogram.types import Update\n")
    assert imported_roots(sample) == {"quart", "aiogram"}
