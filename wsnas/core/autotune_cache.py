"""The machine's cache of CPU runtime choices, cache_dir()/autotune.json: its name, format version and reader.

wsnas.supernets.autotune measures and writes it; `wsnas autotune --show | --reset` reads and clears it without
torch. A run's own record of the choice is RUN/runtime.json (wsnas.core.run_files.RUNTIME).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wsnas.core.paths import cache_dir

CACHE_NAME = "autotune.json"
CACHE_VERSION = 1


def cache_path() -> Path:
    return cache_dir() / CACHE_NAME


def read_cache(path: Path) -> dict[str, Any] | None:
    """The cache at `path`, or None when it does not parse as an autotune cache of this version."""
    try:
        cache = json.loads(path.read_text())
        if cache.get("version") == CACHE_VERSION and isinstance(cache.get("entries"), dict):
            return cache
    except (OSError, ValueError, AttributeError):
        pass
    return None
