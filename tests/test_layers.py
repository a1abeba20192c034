"""The layer rule, read from the source's imports (every import, at module level or inside a function).

    commands (wsnas.cli, wsnas.commands, the wsnas package) -> workflows -> supernets, analysis -> benchmarks -> core

supernets never imports analysis, workflows or commands; analysis never imports supernets or torch; benchmarks
imports neither; core imports nothing else of wsnas. No two modules import each other, directly or round a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"wsnas": "wsnas", "benchmarks": "wsnas.benchmarks", "supernets": "wsnas.supernets",
           "analysis": "wsnas.analysis"}
RANKS = {"core": 0, "benchmarks": 1, "supernets": 2, "analysis": 2, "workflows": 3, "commands": 4}
MAY_IMPORT = {
    "core": {"core"},
    "benchmarks": {"core", "benchmarks"},
    "supernets": {"core", "benchmarks", "supernets"},
    "analysis": {"core", "benchmarks", "analysis"},
    "workflows": {"core", "benchmarks", "supernets", "analysis", "workflows"},
    "commands": set(RANKS),
}
TORCH_FREE = ("core", "benchmarks", "analysis")
# The one torch import below supernets: reading NAS-Bench-201's official .pth file, a torch pickle, inside the
# function that imports it (`wsnas benchmarks import`).
TORCH_FOR_FILE_FORMAT = {"wsnas.benchmarks.spaces.nb201.official"}


def modules() -> dict[str, Path]:
    """Every module of the package, by its import name."""
    out = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def layer(module: str) -> str:
    """The layer a module belongs to."""
    for name in ("core", "benchmarks", "supernets", "analysis", "workflows"):
        if module == f"wsnas.{name}" or module.startswith(f"wsnas.{name}."):
            return name
    return "commands"


def imports(path: Path, known: dict[str, Path]) -> tuple[set[str], bool]:
    """The wsnas modules a file imports (a `from X import name` of a submodule counts as that submodule), and
    whether it imports torch."""
    found, torch = set(), False
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        torch |= any(n == "torch" or n.startswith("torch.") for n in names)
        found |= {n for n in names if n in known}
    return found, torch


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, set[str]], set[str]]:
    known = modules()
    edges, with_torch = {}, set()
    for name, path in known.items():
        targets, torch = imports(path, known)
        edges[name] = targets - {name}
        if torch:
            with_torch.add(name)
    return edges, with_torch


def test_arrows_point_down(graph) -> None:
    edges, _ = graph
    wrong = sorted(f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, targets in edges.items() for b in targets
                   if layer(b) not in MAY_IMPORT[layer(a)])
    assert not wrong, "\n".join(wrong)


def test_torch_stays_in_supernets_and_above(graph) -> None:
    _, with_torch = graph
    wrong = sorted(m for m in with_torch - TORCH_FOR_FILE_FORMAT if layer(m) in TORCH_FREE)
    assert not wrong, f"torch imported in a torch-free layer: {wrong}"


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_import_circles(graph) -> None:
    edges, _ = graph
    found = circles(edges)
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
