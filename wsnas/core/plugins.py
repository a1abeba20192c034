"""Plugins: Python modules (or .py files) that register a user's own search space with wsnas.

A plugin module registers, when imported, what its space provides:

    wsnas.benchmarks.registry.register_space(name, factory)          # the space (torch-free)
    wsnas.supernets.registry.register_supernet(name, SupernetSpec)   # its supernet (torch side)

and optionally a dataset (wsnas.supernets.registry.register_dataset). Name plugins with `--plugin` or the
config's `plugins` list; the list is saved with the run, so every later command on the run imports them again.
A .py file inside a package (its folder holds an __init__.py) is imported as that package's module, so it may
use relative imports (`from .space import MySpace`); a lone .py file is imported with its folder on sys.path.
See examples/tinyconv for a worked space.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from wsnas.core.errors import WsnasError

_LOADED: set[str] = set()


class PluginError(WsnasError):
    """A plugin that cannot be found or imported."""


def normalise(entry: str) -> str:
    """A .py file as its absolute path (so the saved config works from any directory); a module name as is."""
    return str(Path(entry).expanduser().resolve()) if entry.endswith(".py") else entry


def load_plugins(entries: list[str]) -> None:
    """Import each plugin once per process (a module name, or the path of a .py file)."""
    for entry in map(normalise, entries):
        if entry in _LOADED:
            continue
        if entry.endswith(".py"):
            _import_file(Path(entry))
        else:
            _import_module(entry)
        _LOADED.add(entry)


def _import_module(name: str) -> None:
    try:
        importlib.import_module(name)
    except WsnasError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise PluginError(f"plugin module {name!r} failed to import: {exc}") from exc
        raise PluginError(f"plugin module {name!r} cannot be imported ({exc}); install it, add its folder "
                          f"to PYTHONPATH, or give the path of its .py file") from None
    except Exception as exc:
        raise PluginError(f"plugin module {name!r} failed to import: {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path) -> None:
    if not path.is_file():
        raise PluginError(f"plugin file {path} does not exist; give the path of a .py file that registers a space "
                          f"(see examples/)")
    try:
        package = _package_of(path)
        if package is not None:  # a file inside a package: imported as package.module, so relative imports work
            root, dotted = package
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            module = importlib.import_module(dotted)
            if Path(module.__file__ or "").resolve() != path.resolve():
                raise PluginError(f"plugin file {path}: a module {dotted!r} is already imported from "
                                  f"{module.__file__}; rename one of the two packages")
        else:
            _exec_file(path)
    except WsnasError:
        raise
    except Exception as exc:
        raise PluginError(f"plugin file {path} failed to import: {type(exc).__name__}: {exc}") from exc


def _package_of(path: Path) -> tuple[Path, str] | None:
    """(folder to put on sys.path, dotted module name) of a file whose folder holds an __init__.py, else None."""
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return (folder, ".".join(parts)) if len(parts) > 1 else None


def _exec_file(path: Path) -> None:
    """Import a stand-alone .py file under a name of its own; its folder goes on sys.path for sibling modules."""
    name = f"wsnas_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
