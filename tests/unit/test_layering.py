"""routing_core is the domain: no web framework, bot library or HTTP client inside, and its
packages import one way only, as ``routing_core.LAYERS`` says."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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
ROOT = PACKAGE.parent


def imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: Path, known: set[str], root: Path = ROOT) -> set[str]:
    """The modules of ``known`` that ``source`` imports, wherever the import stands (inside
    functions and ``TYPE_CHECKING`` blocks too: a type-only edge is still a dependency).
    ``from a.b import c`` names the module ``a.b.c`` when it exists, else ``a.b``."""
    name = module_name(source, root)
    package = name if source.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                found.add(candidate if candidate in known else module)
    return {module for module in found if module in known and module != name}


def import_graph(package: Path, root: Path = ROOT) -> dict[str, set[str]]:
    sources = sorted(package.rglob("*.py"))
    known = {module_name(source, root) for source in sources}
    return {module_name(source, root): imported_modules(source, known, root) for source in sources}


def room_of(module: str) -> str | None:
    """The top-level package (or module) of ``routing_core`` that ``module`` lives in."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_breaches(graph: dict[str, set[str]], layers: tuple[tuple[str, ...], ...]) -> list[str]:
    rank = {room: level for level, rooms in enumerate(layers) for room in rooms}
    breaches = []
    for module, targets in sorted(graph.items()):
        room = room_of(module)
        for target in sorted(targets):
            target_room = room_of(target)
            if room is None or target_room is None or target_room == room:
                continue
            if rank[target_room] >= rank[room]:
                breaches.append(f"{module} -> {target}")
    return breaches


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


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


def test_every_room_of_routing_core_has_a_layer() -> None:
    rooms = {room_of(module) for module in import_graph(PACKAGE)} - {None}
    placed = {room for rooms_of_layer in routing_core.LAYERS for room in rooms_of_layer}
    assert rooms == placed


def test_routing_core_imports_one_way() -> None:
    graph = import_graph(PACKAGE)
    assert sum(len(targets) for targets in graph.values()) > 100  # the edges were read
    assert layer_breaches(graph, routing_core.LAYERS) == []


@pytest.mark.parametrize("package", ["routing_core", "connectors", "admin", "bots", "config"])
def test_no_circle_of_imports(package: str) -> None:
    assert circles(import_graph(ROOT / package)) == []


def test_the_checks_catch_a_back_edge_and_a_circle(tmp_path: Path) -> None:
    core = tmp_path / "core"
    for path, text in {
        "__init__.py": "",
        "low/__init__.py": "",
        "low/a.py": "from core.high import b\n",
        "high/__init__.py": "",
        "high/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from core.high.c import C\n",
        "high/c.py": "def f():\n    from core.high import b\n",
    }.items():
        (core / path).parent.mkdir(parents=True, exist_ok=True)
        (core / path).write_text(text)
    graph = import_graph(core, tmp_path)
    assert layer_breaches(graph, (("low",), ("high",))) == ["core.low.a -> core.high.b"]
    assert circles(graph) == [["core.high.b", "core.high.c"]]


@pytest.mark.parametrize("package", ["routing_core", "connectors", "admin", "bots", "config"])
def test_no_module_over_600_lines(package: str) -> None:
    sizes = {
        str(source.relative_to(ROOT)): len(source.read_text().splitlines())
        for source in (ROOT / package).rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > 600} == {}


@pytest.mark.parametrize("package", ["routing_core", "connectors", "admin", "bots", "config"])
def test_no_class_over_400_lines(package: str) -> None:
    too_long = {}
    for source in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > 400:
                    too_long[f"{source.relative_to(ROOT)}:{node.name}"] = lines
    assert too_long == {}
