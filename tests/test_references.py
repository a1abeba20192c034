"""Every module, attribute and file the code and the docs name exists (a renamed module leaves no stale mention)."""
from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("analysis", "benchmarks", "supernets", "wsnas", "tests", "docs", "examples", "tools")
NOT_MODULES = {"wsnas.sqlite",  # the results database's file name
               "wsnas.images_per_s"}  # a bench figure's label
DOTTED = re.compile(r"\bwsnas(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"`((?:analysis|supernets|benchmarks|wsnas|tests|docs|examples|tools)/[\w/.-]+\.(?:py|md))`")


def texts() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in SOURCES:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md")]
    return files


def resolves(name: str) -> bool:
    """A module, or an attribute of the longest module prefix."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent is not a package
            found = False
        if not found:
            continue
        if i == len(parts):
            return True
        return hasattr(importlib.import_module(module), parts[i])
    return False


def test_dotted_names_resolve() -> None:
    stale: dict[str, list[str]] = {}
    for path in texts():
        for name in set(DOTTED.findall(path.read_text())) - NOT_MODULES:
            if not resolves(name):
                stale.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not stale, stale


def test_backticked_paths_exist() -> None:
    missing = {m: str(p.relative_to(ROOT)) for p in texts() for m in PATH.findall(p.read_text())
               if "<" not in m and not (ROOT / m).exists()}
    assert not missing, missing
