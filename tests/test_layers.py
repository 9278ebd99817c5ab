"""The floors of the import graph, computed from the source with ``ast`` (nothing is imported).

A *room* is a top-level module of ``whisperbench`` (``history``, ``scoring``...) or a
sub-package with everything in it (``weights``, ``results``, ``suite``...). A room sits one
floor above the highest room it imports (a room that imports none is on floor 1), so the floors
count the steps from the foundation (``errors``, ``evidence``...) to the top (``commands``,
``suite``). Two rooms that import each other, directly or round a loop, would have no floor:
the test names the loop.

What counts as an import: every ``import`` and ``from ... import`` in a module, inside functions
too (a lazy import is still a dependency), but not those under ``if TYPE_CHECKING:`` (only the
type checker runs them). ``from package import name`` depends on the module ``package.name``
where there is one, else on the package's ``__init__``. The floors of single modules are
counted too (the same rule, a module per node), and held where they are today so that they only
go down.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "whisperbench"
MAX_ROOM_FLOORS = 6
MAX_MODULE_FLOORS = 10
"""Today's count for single modules (``weights``' chain from ``layout`` to ``provide`` is most
of it); lower it when a change lowers it."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, modules: frozenset[str]) -> set[str]:
    """The whisperbench modules that the module at ``path`` imports (see the docstring)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in modules else base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    out = set()
    for target in found:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
    return out


@cache
def module_graph() -> dict[str, frozenset[str]]:
    paths = {module_name(path): path for path in SOURCE.rglob("*.py")}
    modules = frozenset(paths)
    return {name: frozenset(imports_of(path, modules)) for name, path in paths.items()}


def room(module: str) -> str:
    """``whisperbench.weights.convert.hf_to_mlx`` -> ``whisperbench.weights``."""
    return ".".join(module.split(".")[:2])


def room_graph() -> dict[str, frozenset[str]]:
    rooms: dict[str, set[str]] = {}
    for module, imported in module_graph().items():
        rooms.setdefault(room(module), set()).update(
            room(other) for other in imported if room(other) != room(module)
        )
    return {name: frozenset(imported) for name, imported in rooms.items()}


def floors(graph: Mapping[str, frozenset[str]]) -> dict[str, int]:
    """Each node's floor; ``AssertionError`` naming a loop where there is one."""
    found: dict[str, int] = {}

    def floor(node: str, path: tuple[str, ...]) -> int:
        if node in found:
            return found[node]
        if node in path:
            loop = (*path[path.index(node) :], node)
            raise AssertionError(f"import loop: {' -> '.join(loop)}")
        found[node] = 1 + max((floor(other, (*path, node)) for other in graph[node]), default=0)
        return found[node]

    for node in graph:
        floor(node, ())
    return found


def _highest(graph: Mapping[str, frozenset[str]], found: Mapping[str, int]) -> str:
    """The path from the highest node down to the foundation, highest import first."""
    node = max(found, key=lambda name: found[name])
    path = [node]
    while graph[node]:
        node = max(graph[node], key=lambda name: found[name])
        path.append(node)
    return " -> ".join(path)


def test_no_two_rooms_import_each_other() -> None:
    floors(room_graph())  # raises on a loop


def test_rooms_stand_on_at_most_six_floors() -> None:
    graph = room_graph()
    found = floors(graph)
    assert max(found.values()) <= MAX_ROOM_FLOORS, _highest(graph, found)


def test_modules_floors_do_not_grow() -> None:
    graph = module_graph()
    found = floors(graph)
    assert max(found.values()) <= MAX_MODULE_FLOORS, _highest(graph, found)


def test_the_counting_rule() -> None:
    graph = {"a": frozenset({"b", "c"}), "b": frozenset({"c"}), "c": frozenset()}
    assert floors(graph) == {"a": 3, "b": 2, "c": 1}
    with pytest.raises(AssertionError, match="import loop: x -> y -> x"):
        floors({"x": frozenset({"y"}), "y": frozenset({"x"})})
    assert room("whisperbench.weights.convert.hf_to_mlx") == "whisperbench.weights"
    assert room("whisperbench.history") == "whisperbench.history"
