"""Benchmark ground truth as one table: a row per architecture, a column per metric (accuracies in %).

Columns: `key` (canonical arch string of the space, unique), `index` (benchmark index), and metrics named
`<dataset>/<split>`, with `@12ep` for the 12-epoch schedule and `#seed<k>` for the k-th training run.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from wsnas.core.atomic import atomic_path
from wsnas.benchmarks.nb201 import NB201Space
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.sources import SOURCES, file_sha256, resolve
from wsnas.benchmarks.space import ArchError, SearchSpace
from wsnas.core.errors import WsnasError
from wsnas.core.paths import cache_dir

SEED_MARK = "#seed"
# Exact float round trip through CSV: pandas 3 parses that way by default, pandas 2 must be asked to.
_CSV_READ = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
_EXAMPLES = 3


class GroundTruthError(WsnasError):
    """A ground-truth table or query that does not fit (unknown metric, arch, space, malformed table)."""


def canonical_keys(space: SearchSpace, texts: Iterable[str]) -> tuple[list[str], dict[str, str]]:
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
            space = get_space(self.space)
            canonical, _ = canonical_keys(space, [keys[i] for i in unmatched])
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
            frame = pd.read_csv(path, dtype={"key": str}, **_CSV_READ)
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
        keys, failures = canonical_keys(get_space(space), frame["key"].astype(str))
        if failures:
            bad = list(failures)
            raise GroundTruthError(f"ground-truth table {path}: {len(bad)} of {len(frame)} keys are not {space} "
                                   f"archs (e.g. {bad[0]!r}: {failures[bad[0]]}); the table seems to be for "
                                   f"another space; load it with that space's name")
        frame = frame.assign(key=keys, index=frame["index"].astype(np.int64))
        return cls(frame, space, described)


# ---------------------------------------------------------------------------------------------- NAS-Bench-201

@dataclass(frozen=True)
class _Table:
    """How one NB201 source file maps onto ground-truth columns."""

    source: str  # name in sources.SOURCES
    arch: str  # column with the arch string
    index: str | None  # column with the benchmark index; None: the row number is the index
    metrics: dict[str, str]  # file column -> metric name
    what: str  # the columns it gives and the benchmark release they come from, for GroundTruth.source
    seed_prefix: str | None = None  # file columns '<prefix>a', 'b', ... -> 'cifar10/test#seed0', ...


def _nasgraph(source: str, dataset: str) -> _Table:
    return _Table(source, "arch str", "file id", {"train accuracy": f"{dataset}/train",
                                                  "validation accuracy": f"{dataset}/valid",
                                                  "test accuracy": f"{dataset}/test"},
                  f"{dataset}/* NB201-v1_1")


NB201_TABLES: tuple[_Table, ...] = (
    # NATS-tss-v1_0: CIFAR-10 trained on train+valid; its CIFAR-100/ImageNet test columns are not used, the
    # NB201-v1_1 tables below give test with train/valid from the same runs.
    _Table("nats_tss_200ep_test_acc", "ArchitectureString", None,
           {"CIFAR10TestAccuracy200Epochs": "cifar10/test"}, "cifar10/test NATS-tss-v1_0"),
    _nasgraph("nasbench201_cifar10_200ep", "cifar10-valid"),
    _nasgraph("nasbench201_cifar100_200ep", "cifar100"),
    _nasgraph("nasbench201_ImageNet16-120_200ep", "ImageNet16-120"),
    _Table("mini_nasbench201_12epoch", "cellstr", "arch",
           {"cifar10-val": "cifar10-valid/valid@12ep", "cifar10-test": "cifar10/test@12ep",
            "cifar100-val": "cifar100/valid@12ep", "cifar100-test": "cifar100/test@12ep",
            "imagenet-val": "ImageNet16-120/valid@12ep", "imagenet-test": "ImageNet16-120/test@12ep"},
           "*@12ep NB201-v1_1"),
    # NB201-v1_1 per-seed runs; the mirror CSV has an index column, the converted upstream pickle does not.
    _Table("nb201_cifar10_200ep_test_acc_per_seed", "arch_str", "index", {}, "cifar10/test#seed* NB201-v1_1",
           seed_prefix="acc_seed_"),
)
NB201_COLUMNS: tuple[str, ...] = (
    "cifar10/test", "cifar10-valid/train", "cifar10-valid/valid", "cifar10-valid/test",
    "cifar100/train", "cifar100/valid", "cifar100/test",
    "ImageNet16-120/train", "ImageNet16-120/valid", "ImageNet16-120/test",
    "cifar10-valid/valid@12ep", "cifar10/test@12ep", "cifar100/valid@12ep", "cifar100/test@12ep",
    "ImageNet16-120/valid@12ep", "ImageNet16-120/test@12ep",
)
_CACHE_FORMAT = 1  # bump when the combined table's layout changes


def _read_table(table: _Table, path: Path, canonical: dict[str, str]) -> pd.DataFrame:
    """One source file as columns key, [index], metrics; `canonical` memoises arch string -> key."""
    raw = pd.read_csv(path, **_CSV_READ)
    space = NB201Space()
    for text in raw[table.arch].unique():
        if text not in canonical:
            try:
                canonical[text] = space.key(text)
            except ArchError as exc:
                raise GroundTruthError(f"{path}: {exc}; this is not NAS-Bench-201 data, re-fetch the file") from exc
    out = pd.DataFrame({"key": raw[table.arch].map(canonical)})
    if table.index is None:
        out["index"] = np.arange(len(raw))
    elif table.index in raw.columns:
        out["index"] = raw[table.index].astype(np.int64)
    for column, metric in table.metrics.items():
        out[metric] = raw[column].astype(float)
    if table.seed_prefix:
        seeds = sorted(c for c in raw.columns if c.startswith(table.seed_prefix))
        for k, column in enumerate(seeds):
            out[f"cifar10/test{SEED_MARK}{k}"] = raw[column].astype(float)
    return out


def _combine_nb201(paths: dict[str, Path]) -> pd.DataFrame:
    """Join the NB201 tables on the arch; every table must list each arch once, at the same index."""
    canonical: dict[str, str] = {}
    parts = [(t, _read_table(t, paths[t.source], canonical)) for t in NB201_TABLES]
    base_table, base = parts[0]
    size = NB201Space().size()
    if len(base) != size or base["key"].duplicated().any():
        raise GroundTruthError(f"{paths[base_table.source]} should list each of the {size} NB201 archs once; "
                               f"it has {len(base)} rows, {base['key'].nunique()} distinct; re-fetch it")
    combined = base.set_index("key")
    for table, part in parts[1:]:
        where = paths[table.source]
        if len(part) != size or part["key"].duplicated().any() or not part["key"].isin(combined.index).all():
            raise GroundTruthError(f"{where} should list each of the {size} NB201 archs once, as "
                                   f"{paths[base_table.source]} does; re-fetch it")
        part = part.set_index("key")
        if "index" in part.columns:
            differ = part.index[part["index"].to_numpy() != combined.loc[part.index, "index"].to_numpy()]
            if len(differ):
                arch = differ[0]
                raise GroundTruthError(
                    f"NB201 tables disagree on the index -> arch order: {where} puts {arch} at index "
                    f"{part.at[arch, 'index']}, {paths[base_table.source]} at {combined.at[arch, 'index']} "
                    f"({len(differ)} archs differ); the files are not from the same benchmark order, re-fetch them")
            part = part.drop(columns="index")
        combined = combined.join(part)
    combined = combined.reset_index().sort_values("index", ignore_index=True)
    seeds = [c for c in combined.columns if SEED_MARK in c]
    return combined[["key", "index", *NB201_COLUMNS, *seeds]]


def nb201_description() -> str:
    """Where each group of NB201 columns comes from."""
    return "NAS-Bench-201: " + "; ".join(f"{t.what} ({SOURCES[t.source].origin})" for t in NB201_TABLES)


def load_nb201(mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The NAS-Bench-201 ground truth from the pinned sources (mirror or download), cached as one table."""
    sources = [SOURCES[t.source] for t in NB201_TABLES]
    paths = {s.name: resolve(s, mirror) for s in sources}
    stamp = json.dumps([_CACHE_FORMAT, pd.__version__, [[n, file_sha256(p)] for n, p in paths.items()]])
    cached = cache_dir() / "groundtruth" / f"nb201-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.pkl"
    description = nb201_description()
    if cached.is_file():
        try:
            return GroundTruth(pd.read_pickle(cached), "nb201", description)
        except Exception:  # an unreadable cache is rebuilt below, never fatal
            pass
    frame = _combine_nb201(paths)
    with atomic_path(cached) as tmp:
        frame.to_pickle(tmp)
    return GroundTruth(frame, "nb201", description)


def load_ground_truth(space: str, mirror: str | os.PathLike | None = None,
                      table: str | os.PathLike | None = None) -> GroundTruth:
    """The ground truth of a space by name: the user's `table` (a CSV as GroundTruth.to_csv writes) when
    given, else the space's own benchmark table."""
    if table:
        return GroundTruth.from_csv(table, space)
    return get_space(space).ground_truth(mirror)
