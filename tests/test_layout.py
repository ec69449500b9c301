"""The package's shape, as ARCHITECTURE.md states it: modules a reader can take in, no import cycle, data going one
way between packages, and tests that reach the orchestration through its public names only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cords_tune"
MAX_LINES = 400

# What each package must not import: the arrows that would point back up (results and reports are read without
# the orchestration; training and selection know nothing of Ray).
FORBIDDEN = {
    "results": ("cords_tune.tuning", "cords_tune.run", "cords_tune.training", "cords_tune.selection",
                "cords_tune.reports", "cords_tune.cli", "cords_tune.api", "torch", "ray", "pandas"),
    "reports": ("cords_tune.tuning", "cords_tune.run", "cords_tune.cli", "cords_tune.api", "ray"),
    "selection": ("cords_tune.training", "cords_tune.tuning", "cords_tune.run", "ray"),
    "training": ("cords_tune.tuning", "cords_tune.run", "cords_tune.cli", "ray"),
    "tuning": ("cords_tune.run", "cords_tune.cli", "cords_tune.api"),
    "run": ("cords_tune.cli", "cords_tune.api"),
}
ORCHESTRATION = ("cords_tune.run", "cords_tune.tuning", "cords_tune.cli", "cords_tune.api")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, anywhere in it (inside functions too: an import there still ties the two)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _project_edges(name: str) -> set[str]:
    """The project modules ``name`` depends on (a name inside a module counts as that module)."""
    edges = set()
    for imported in IMPORTS[name]:
        while imported and imported not in MODULES:
            imported = imported.rpartition(".")[0]
        if imported and imported != name and imported.startswith("cords_tune"):
            edges.add(imported)
    return edges


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_longer_than_a_reader_takes_in(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"


def test_no_import_cycle() -> None:
    graph = {name: _project_edges(name) for name in MODULES}
    # Tarjan's strongly connected components: any component of two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_arrow_back_up(package: str) -> None:
    prefix = f"cords_tune.{package}"
    wrong = sorted(
        f"{name} imports {imported}"
        for name in MODULES if name == prefix or name.startswith(prefix + ".")
        for imported in IMPORTS[name]
        if any(imported == f or imported.startswith(f + ".") for f in FORBIDDEN[package])
    )
    assert not wrong, wrong


def _private_uses(tree: ast.AST) -> list[str]:
    """The private names of the orchestration a test module imports or reads (``from cords_tune.tuning.x import
    _y``, ``x._y`` where ``x`` is an orchestration module it imported)."""
    def orchestration(module: str) -> bool:
        return any(module == o or module.startswith(o + ".") for o in ORCHESTRATION)

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and orchestration(node.module):
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{node.module}.{alias.name}")
                elif f"{node.module}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if orchestration(alias.name) and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            target = ast.unparse(node.value)
            module = aliases.get(target, target)
            if orchestration(module):
                found.append(f"{module}.{node.attr}")
    return found


def test_tests_use_public_names_of_the_orchestration() -> None:
    wrong = [f"{path.relative_to(ROOT)}: {use}" for path in sorted((ROOT / "tests").rglob("*.py"))
             for use in _private_uses(ast.parse(path.read_text()))]
    assert not wrong, wrong
