"""The machine's cache of zero-cost proxy values: computed once per arch and setting, reused by every table.

A proxy value depends on the arch and on its identity only (wsnas.supernets.proxies.identity: the proxies, their
seed and batch, the space, the network skeleton, the training split), and each arch's value is computed on its
own copy of the network with its own seed, so a value computed for one run's table is the value any other table
with the same identity would compute. The cache keeps them under that identity plus what makes float results of
one machine differ from another's (processor, its flags, the torch build): $WSNAS_CACHE/proxies/<digest>.csv (key
and one column per proxy) beside <digest>.json (what the digest stands for).

Values are written as Python writes a float (the shortest text that reads back as the same float) and read
back exactly, so a table filled from the cache is byte-identical to one computed afresh. Two processes that add at once may each write its own rows last; the other's rows are then
computed again the next time (the cache loses work, never a value's correctness).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from wsnas.benchmarks.groundtruth import CSV_READ
from wsnas.core.atomic import atomic_path, write_json
from wsnas.core.paths import cache_dir
from wsnas.core.run_files import KEY
from wsnas.supernets.autotune import machine_fingerprint

CACHE_SUBDIR = "proxies"


def float_identity() -> dict[str, Any]:
    """What makes one machine's float64 results differ from another's (the proxies run on one thread)."""
    return {k: v for k, v in machine_fingerprint().items() if k != "logical_cpus"}


class ProxyCache:
    """The cached values of one identity's proxies."""

    def __init__(self, identity: dict[str, Any], columns: Sequence[str], root: Path | None = None) -> None:
        self.stamp = {"identity": identity, "machine": float_identity()}
        digest = hashlib.sha256(json.dumps(self.stamp, sort_keys=True).encode()).hexdigest()[:20]
        folder = (root or cache_dir()) / CACHE_SUBDIR
        self.path = folder / f"{digest}.csv"
        self.columns = [KEY, *columns]

    def read(self) -> pd.DataFrame:
        """Every cached row (empty when there is none, or when the file is unreadable: it is only a cache)."""
        try:
            table = pd.read_csv(self.path, dtype={KEY: str}, **CSV_READ)
        except (OSError, ValueError):
            return pd.DataFrame(columns=self.columns)
        return table if list(table.columns) == self.columns else pd.DataFrame(columns=self.columns)

    def lookup(self, keys: Sequence[str]) -> pd.DataFrame:
        """The cached rows of `keys` (those it holds)."""
        table = self.read()
        return table[table[KEY].isin(set(keys))].reset_index(drop=True)

    def add(self, rows: pd.DataFrame) -> None:
        """Store `rows` (key + the proxies' columns), written atomically."""
        if rows.empty:
            return
        table = self.read()
        merged = pd.concat([table, rows[self.columns]], ignore_index=True) if len(table) else rows[self.columns]
        merged = merged.drop_duplicates(KEY, keep="last").sort_values(KEY)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.with_suffix(".json").is_file():
            write_json(self.path.with_suffix(".json"), self.stamp)
        with atomic_path(self.path) as tmp:
            merged.to_csv(tmp, index=False)
