"""Benchmark ground truth as one table: a row per architecture, a column per metric (accuracies in %).

Columns: `key` (canonical arch string of the space, unique), `index` (benchmark index), and metrics named
`<dataset>/<split>`, with `@12ep` for the 12-epoch schedule and `#seed<k>` for the k-th training run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np
import pandas as pd

from wsnas.benchmarks.errors import ArchError
from wsnas.core.atomic import atomic_path
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError

SEED_MARK = "#seed"
# Exact float round trip through CSV: pandas 3 parses that way by default, pandas 2 must be asked to.
CSV_READ = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
_EXAMPLES = 3


class GroundTruthError(WsnasError):
    """A ground-truth table or query that does not fit (unknown metric, arch, space, malformed table)."""


class KeyedSpace(Protocol):
    """What a table asks of its space (a wsnas.benchmarks.space.SearchSpace, which builds on this module)."""

    def key(self, text: str) -> str:
        """Canonical key of an arch string; ArchError if it is not an arch of the space."""

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> "GroundTruth":
        """The space's own benchmark table."""


SpaceLookup = Callable[[str], KeyedSpace]
_space_lookup: list[SpaceLookup] = []  # filled by wsnas.benchmarks.registry when imported


def set_space_lookup(lookup: SpaceLookup) -> None:
    """Install the name -> space lookup the tables use (wsnas.benchmarks.registry installs its get_space when
    imported, and the wsnas package imports the registry first). This module cannot import the registry: the
    registered spaces load their tables through it."""
    _space_lookup[:] = [lookup]


def space_named(name: str) -> KeyedSpace:
    """The registered space called `name` (UnknownSpaceError, naming the known ones, if there is none)."""
    if not _space_lookup:
        raise GroundTruthError(f"no search-space registry is loaded to look up space {name!r}; import "
                               f"wsnas.benchmarks.registry")
    return _space_lookup[0](name)


def canonical_keys(space: KeyedSpace, texts: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Canonical keys of `texts` (each distinct text parsed once) and the texts that fail, with the reason."""
    cache: dict[str, str | None] = {}
    failures: dict[str, str] = {}
    keys = []
    for text in texts:
        if text not in cache:
            try:
                cache[text] = space.key(text)
            except ArchError as exc:
                cache[text], failures[text] = None, str(exc)
        keys.append(cache[text])
    return keys, failures


def _examples(items: Sequence[object]) -> str:
    return ", ".join(repr(x) for x in items[:_EXAMPLES]) + (", ..." if len(items) > _EXAMPLES else "")


class GroundTruth:
    """One row per architecture of a space: `key`, `index` and metric columns (see the module docstring)."""

    def __init__(self, frame: pd.DataFrame, space: str, source: str) -> None:
        missing = [c for c in ("key", "index") if c not in frame.columns]
        if missing:
            raise GroundTruthError(f"ground truth ({source}) lacks the column(s) {missing}; a table needs 'key', "
                                   f"'index' and metric columns like 'cifar10/test'")
        duplicated = frame["key"][frame["key"].duplicated()].tolist()
        if duplicated:
            raise GroundTruthError(f"ground truth ({source}) lists {len(duplicated)} arch(s) twice, e.g. "
                                   f"{_examples(duplicated)}; keep one row per arch")
        if frame["index"].duplicated().any():
            raise GroundTruthError(f"ground truth ({source}) repeats benchmark indices; each arch needs its own")
        self.frame = frame.reset_index(drop=True)
        self.space = space
        self.source = source
        self._keys = pd.Index(self.frame["key"])
        self._indices = pd.Index(self.frame["index"])

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"GroundTruth({self.space!r}, {len(self)} archs, {len(self.metrics())} metrics; {self.source})"

    def metrics(self) -> list[str]:
        """Metric columns, without the per-seed ones."""
        return [c for c in self.frame.columns if c not in ("key", "index") and SEED_MARK not in c]

    def _check_metric(self, metric: str) -> None:
        if metric not in self.frame.columns or metric in ("key", "index"):
            raise GroundTruthError(f"unknown metric {metric!r} for the {self.space} ground truth ({self.source}); "
                                   f"available: {', '.join(self.metrics())} (per-seed columns: see seed_columns)")

    def seed_columns(self, metric: str) -> list[str]:
        """The per-seed columns of `metric` (`<metric>#seed0`, ...), empty if it has none."""
        self._check_metric(metric)
        prefix = metric + SEED_MARK
        return sorted((c for c in self.frame.columns if c.startswith(prefix)), key=lambda c: int(c[len(prefix):]))

    def _positions(self, keys: Sequence[str]) -> np.ndarray:
        """Row of each key (any accepted spelling of the arch); a clear error naming the missing ones."""
        positions = self._keys.get_indexer(keys)
        unmatched = np.flatnonzero(positions < 0)
        if unmatched.size:
            canonical, _ = canonical_keys(space_named(self.space), [keys[i] for i in unmatched])
            positions[unmatched] = self._keys.get_indexer([k if k is not None else "" for k in canonical])
        missing = [keys[i] for i in np.flatnonzero(positions < 0)]
        if missing:
            raise GroundTruthError(f"{len(missing)} of {len(keys)} archs are not in the {self.space} ground truth "
                                   f"({self.source}), e.g. {_examples(missing)}; pass archs of the {self.space} "
                                   f"space, e.g. {self.frame['key'].iloc[0]!r}")
        return positions

    def values(self, metric: str, keys: Iterable[str]) -> np.ndarray:
        """Values of `metric` for `keys`, in their order (NaN where the benchmark has no value)."""
        self._check_metric(metric)
        keys = list(keys)
        return self.frame[metric].to_numpy(dtype=float)[self._positions(keys)]

    def index_of(self, key: str) -> int:
        """Benchmark index of an arch."""
        return int(self.frame["index"].iloc[self._positions([key])[0]])

    def key_of(self, index: int) -> str:
        """Canonical key of the arch at a benchmark index."""
        position = self._indices.get_indexer([index])[0]
        if position < 0:
            raise GroundTruthError(f"benchmark index {index!r} is not in the {self.space} ground truth "
                                   f"({self.source}); indices run from {self._indices.min()} to {self._indices.max()}")
        return str(self.frame["key"].iloc[position])

    def check_space(self, space_name: str) -> None:
        """Raise unless this table is for `space_name`."""
        if space_name != self.space:
            raise GroundTruthError(f"the ground truth ({self.source}) is for space {self.space!r}, not "
                                   f"{space_name!r}; load the ground truth of {space_name!r} "
                                   f"(load_ground_truth({space_name!r})) or run on space {self.space!r}")

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the table as CSV, atomically."""
        with atomic_path(path) as tmp:
            self.frame.to_csv(tmp, index=False)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, space: str = "nb201", source: str | None = None) -> "GroundTruth":
        """Read a table written by to_csv (or by hand): checks the columns and that every key is an arch of
        `space`; keys are canonicalised."""
        path = Path(path)
        described = source or f"table {path}"
        try:
            frame = pd.read_csv(path, dtype={"key": str}, **CSV_READ)
        except FileNotFoundError as exc:
            raise GroundTruthError(f"ground-truth table {path} does not exist; give the path of a CSV written "
                                   f"by GroundTruth.to_csv") from exc
        except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
            raise GroundTruthError(f"ground-truth table {path} is not a readable CSV ({exc}); give a CSV with "
                                   f"columns key, index and metrics like 'cifar10/test'") from exc
        metrics = [c for c in frame.columns if c not in ("key", "index")]
        if "key" not in frame.columns or "index" not in frame.columns or not metrics:
            raise GroundTruthError(f"ground-truth table {path} has columns {list(frame.columns)}; it needs 'key', "
                                   f"'index' and at least one metric column like 'cifar10/test'")
        for column in metrics + ["index"]:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                raise GroundTruthError(f"ground-truth table {path}: column {column!r} is not numeric; metric "
                                       f"columns hold accuracies in %, 'index' the integer benchmark index")
        if frame["index"].isna().any() or (frame["index"] % 1 != 0).any():
            raise GroundTruthError(f"ground-truth table {path}: 'index' must hold whole numbers in every row")
        keys, failures = canonical_keys(space_named(space), frame["key"].astype(str))
        if failures:
            bad = list(failures)
            raise GroundTruthError(f"ground-truth table {path}: {len(bad)} of {len(frame)} keys are not {space} "
                                   f"archs (e.g. {bad[0]!r}: {failures[bad[0]]}); the table seems to be for "
                                   f"another space; load it with that space's name")
        frame = frame.assign(key=keys, index=frame["index"].astype(np.int64))
        return cls(frame, space, described)


def load_ground_truth(space: str, mirror: str | os.PathLike | None = None,
                      table: str | os.PathLike | None = None) -> GroundTruth:
    """The ground truth of a space by name: the user's `table` (a CSV as GroundTruth.to_csv writes) when
    given, else the space's own benchmark table."""
    if table:
        return GroundTruth.from_csv(table, space)
    return space_named(space).ground_truth(mirror)


def config_truth(cfg: Config, mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The ground truth a config names: its analysis.truth_file, else its space's own table (`mirror`: default
    the config's data.mirror)."""
    return load_ground_truth(cfg.space, mirror or cfg.data.mirror, cfg.analysis.truth_file)
