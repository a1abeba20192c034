"""Output directories that are never overwritten by other work (no torch).

An audit or a benchmark correlation writes one directory: `--out DIR`, runs/<prefix>-<--name>, or
runs/<prefix>-<a name derived from all its inputs>. Its config.json records `identity`: everything its numbers
depend on (file hashes, columns, options). Writing into a directory is allowed when it is new or empty, or holds
the same kind of result with the same identity (rerunning a command rewrites the same numbers); anything else is
refused, naming what differs.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from wsnas.core.errors import WsnasError
from wsnas.core.run_files import CONFIG

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHOWN = 4


class OutputError(WsnasError):
    """An output directory that is taken by other work, or an invalid name for one."""


def digest(identity: dict[str, Any]) -> str:
    """Eight hex digits of the identity's canonical JSON."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:8]


def stem(text: str) -> str:
    """`text` as a piece of a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "table"


def _a(kind: str) -> str:
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def output_directory(out: str | Path | None, name: str | None, prefix: str, default: str) -> Path:
    """--out, or runs/<prefix>-<--name or default>."""
    if out is not None and name is not None:
        raise OutputError("--out and --name both name the output directory; give one of them")
    if name is not None and not NAME_PATTERN.match(name):
        raise OutputError(f"--name {name!r} must be a plain folder name (letters, digits, '.', '_', '-', not starting "
                          f"with '.' or '-'), e.g. --name proxies-vs-loss")
    return Path(out) if out is not None else Path("runs") / f"{prefix}-{name or default}"


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted path: leaf} of nested dicts and lists ('truth_columns.0.name')."""
    if isinstance(tree, list):
        tree = dict(enumerate(tree))
    if isinstance(tree, dict) and tree:
        return {k: v for key, value in tree.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): tree}


def claim(path: Path, kind: str, identity: dict[str, Any]) -> None:
    """Refuse `path` unless it is new, empty, or holds a `kind` result whose config.json[kind]["identity"] equals
    `identity`."""
    if not path.exists():
        return
    if not path.is_dir():
        raise OutputError(f"output {path} is a file; choose another --out or --name")
    config = path / CONFIG
    if not config.is_file():
        if any(path.iterdir()):
            raise OutputError(f"output {path} is not empty and holds no {kind}; choose another --out or --name "
                              f"(nothing is overwritten)")
        return
    try:
        saved = json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise OutputError(f"{config} cannot be read ({exc}); choose another --out or --name") from None
    if saved.get("kind", "run") != kind:
        raise OutputError(f"{path} holds a wsnas {saved.get('kind', 'run')}, not {_a(kind)}; choose another --out "
                          f"or --name (nothing is overwritten)")
    before = _flat(json.loads(json.dumps((saved.get(kind) or {}).get("identity") or {}, default=str)))
    now = _flat(json.loads(json.dumps(identity, default=str)))
    differ = [f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(before) | set(now))
              if before.get(k) != now.get(k)]
    if differ:
        shown = ", ".join(differ[:_SHOWN]) + (", ..." if len(differ) > _SHOWN else "")
        raise OutputError(f"{path} holds {_a(kind)} of other inputs ({shown}); choose another --name or --out, or "
                          f"delete {path} to replace it (nothing is overwritten)")
