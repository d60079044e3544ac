"""The house: rooms of one concern whose imports only point down, and no circle between modules.

Every import in the code (at module level or inside a function) is read from the source, so a
back-edge cannot hide behind a lazy import.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top. A module may import its own room and the rooms on lower floors, never a room on its
# own floor or above. `app` on its own is the package docstring only.
FLOORS: list[tuple[str, ...]] = [
    ("core",),
    ("index",),
    ("ingest",),
    ("app", "app.generation", "app.schemas"),
    ("app.answering",),
    ("app.services",),
    ("app.api",),
    ("app.main", "app.prepare"),
    ("bench",),
    ("cli",),
]
OURS = {"core", "index", "ingest", "app", "bench", "cli"}


def room_of(module: str) -> str:
    """The longest room name that `module` is, or lies inside."""
    rooms = [room for floor in FLOORS for room in floor]
    matching = [r for r in rooms if module == r or module.startswith(r + ".")]
    return max(matching, key=len)


def floor_of(room: str) -> int:
    return next(n for n, floor in enumerate(FLOORS) if room in floor)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module of ours that `path` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from app.generation import base` imports the module app.generation.base
            names = [f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base for alias in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] in OURS)
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def source_files() -> list[Path]:
    return sorted(p for room in OURS for p in (ROOT / room).rglob("*.py"))


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in source_files()}


def back_edges(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imported in graph.items():
        here = room_of(module)
        for target in imported:
            there = room_of(target)
            if there == here:
                continue
            if floor_of(there) >= floor_of(here):
                found.append(f"{module} imports {target} ({there} is not below {here})")
    return sorted(found)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles between modules (Tarjan's strongly connected components of size > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_imports_only_point_down():
    assert back_edges(import_graph()) == []


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_every_module_says_its_job():
    missing = [str(p.relative_to(ROOT)) for p in source_files() if ast.get_docstring(ast.parse(p.read_text())) is None]
    assert missing == []


@pytest.mark.parametrize("graph, expected", [
    ({"index.store": {"app.services"}, "app.services": set()}, ["index.store imports app.services"]),
    ({"app.answering.answerer": {"app.api.metrics"}, "app.api.metrics": set()},
     ["app.answering.answerer imports app.api.metrics"]),
    ({"app.generation.queue": {"app.schemas"}, "app.schemas": set()}, ["app.generation.queue imports app.schemas"]),
])
def test_the_check_sees_a_back_edge(graph, expected):
    assert [edge.split(" (")[0] for edge in back_edges(graph)] == expected


def test_the_check_sees_a_circle():
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": {"a.x"}}) == [["a.x", "a.y"]]


def test_no_module_imports_hugging_face_at_import_time():
    """The offline environment is set by each entry point's start-up, so nothing may read it earlier."""
    entry_points = ["app.main", "cli.main", "ingest.__main__", "bench.quality", "bench.serve", "app.prepare"]
    hugging_face = {"huggingface_hub", "transformers", "sentence_transformers"}
    code = (f"import sys\nfor m in {entry_points}:\n    __import__(m)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {hugging_face}))")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
