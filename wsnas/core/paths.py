"""Where wsnas keeps downloads and caches, and where it looks for a local data mirror."""
from __future__ import annotations

import os
from pathlib import Path

MIRROR_ENV = "WSNAS_DATA_MIRROR"
CACHE_ENV = "WSNAS_CACHE"


def cache_dir() -> Path:
    """Download/decode cache: $WSNAS_CACHE, else ~/.cache/wsnas."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "wsnas"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """A local mirror of the upstream files (layout of ../shared/data): the option, else $WSNAS_DATA_MIRROR."""
    value = explicit or os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None
