"""Import an official NAS-Bench-201 file (NAS-Bench-201-v1_0/v1_1 .pth) or NATS-Bench topology data as a
GroundTruth with the columns of the pinned NAS-Bench-201 table (wsnas.benchmarks.spaces.nb201.truth).

The official files are read with their own APIs (`nas_201_api`, `nats_bench`), imported only here: they pull
in torch, which the rest of wsnas.benchmarks never imports.
"""
from __future__ import annotations

import math
import os
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsnas.benchmarks.groundtruth import SEED_MARK, GroundTruth, GroundTruthError
from wsnas.benchmarks.spaces.nb201.space import NB201Space

# metric -> (dataset, set name) as the benchmark APIs' ArchResults.get_metrics take them
FULL_METRICS: dict[str, tuple[str, str]] = {  # hp '200' ('full')
    "cifar10/test": ("cifar10", "ori-test"),
    "cifar10-valid/train": ("cifar10-valid", "train"),
    "cifar10-valid/valid": ("cifar10-valid", "x-valid"),
    "cifar10-valid/test": ("cifar10-valid", "ori-test"),
    **{f"{ds}/{split}": (ds, name) for ds in ("cifar100", "ImageNet16-120")
       for split, name in (("train", "train"), ("valid", "x-valid"), ("test", "x-test"))},
}
LESS_METRICS: dict[str, tuple[str, str]] = {  # hp '12' ('less')
    "cifar10-valid/valid@12ep": ("cifar10-valid", "x-valid"),
    "cifar10/test@12ep": ("cifar10", "ori-test"),
    **{f"{ds}/{split}@12ep": (ds, name) for ds in ("cifar100", "ImageNet16-120")
       for split, name in (("valid", "x-valid"), ("test", "x-test"))},
}
SEED_METRIC = ("cifar10/test", "cifar10", "ori-test")  # the metric given per training run


def _accuracy(results: Any, dataset: str, setname: str, seed: int | bool = False) -> float:
    """Accuracy after the last epoch (mean over runs, or of one run's seed); NaN where the file lacks it."""
    if results is None or dataset not in results.get_dataset_names():
        return math.nan
    try:
        return float(results.get_metrics(dataset, setname, is_random=seed)["accuracy"])
    except KeyError:  # this split was not evaluated for this dataset
        return math.nan


def _row(arch: str, index: int, full: Any, less: Any) -> dict[str, object]:
    """One ground-truth row from the 200-epoch and 12-epoch ArchResults of an arch."""
    row: dict[str, object] = {"key": NB201Space().key(arch), "index": int(index)}
    row.update({m: _accuracy(full, ds, name) for m, (ds, name) in FULL_METRICS.items()})
    row.update({m: _accuracy(less, ds, name) for m, (ds, name) in LESS_METRICS.items()})
    metric, dataset, setname = SEED_METRIC
    if dataset in full.get_dataset_names():
        for k, seed in enumerate(full.get_dataset_seeds(dataset)):
            row[f"{metric}{SEED_MARK}{k}"] = _accuracy(full, dataset, setname, seed)
    return row


def _table(rows: list[dict[str, object]], source: str) -> GroundTruth:
    frame = pd.DataFrame(rows).dropna(axis="columns", how="all")  # keep the metrics the file has
    seeds = sorted((c for c in frame.columns if SEED_MARK in c), key=lambda c: int(c.split(SEED_MARK)[1]))
    metrics = [c for c in [*FULL_METRICS, *LESS_METRICS] if c in frame.columns]
    if not metrics:
        raise GroundTruthError(f"{source}: no accuracies found for any architecture; the file is corrupt or not "
                               f"in the NAS-Bench-201 format, download it again")
    return GroundTruth(frame[["key", "index", *metrics, *seeds]].sort_values("index"), "nb201", source)


def _torch_load(path: Path, trust: bool) -> Any:
    """torch.load without running code from the file: plain data and numpy numbers unless `trust` is set."""
    import torch

    if trust:
        return torch.load(path, map_location="cpu", weights_only=False)
    allow = getattr(torch.serialization, "safe_globals", None)  # torch >= 2.5; older: plain data only
    if allow is None:
        return torch.load(path, map_location="cpu", weights_only=True)
    scalar = (np._core if hasattr(np, "_core") else np.core).multiarray.scalar
    numpy_numbers = [np.dtype, scalar, (scalar, "numpy.core.multiarray.scalar")]  # files written with numpy 1
    numpy_numbers += [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32)]
    with allow(numpy_numbers):
        return torch.load(path, map_location="cpu", weights_only=True)


def _import_nb201_pth(path: Path, trust: bool) -> GroundTruth:
    try:
        from nas_201_api import ArchResults
    except ImportError as exc:
        raise GroundTruthError(f"reading the NAS-Bench-201 file {path} needs the package nas_201_api (and torch): "
                               f"pip install nas-bench-201") from exc
    try:
        data = _torch_load(path, trust)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = found.group(1) if found else "objects other than plain data"
        raise GroundTruthError(f"{path} holds {what}, so it is not loaded by default (loading it could run code "
                               f"from the file); if you trust the file, call import_official({str(path)!r}, "
                               f"trust=True)") from exc
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise GroundTruthError(f"{path} is not a readable NAS-Bench-201 .pth file ({exc}); download "
                               f"NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth again") from exc
    if not isinstance(data, dict) or not {"meta_archs", "arch2infos"} <= data.keys():
        raise GroundTruthError(f"{path} is not a NAS-Bench-201 benchmark file (expected a dict with 'meta_archs' "
                               f"and 'arch2infos'); give NAS-Bench-201-v1_0-e61699.pth or -v1_1-096897.pth")
    if not data["arch2infos"]:
        raise GroundTruthError(f"{path} holds no architectures with results; give the full benchmark file")
    try:
        rows = []
        for index in sorted(data["arch2infos"]):
            infos = data["arch2infos"][index]
            full = ArchResults.create_from_state_dict(infos["full"])
            less = ArchResults.create_from_state_dict(infos["less"]) if "less" in infos else None
            rows.append(_row(data["meta_archs"][index], index, full, less))
    except Exception as exc:  # one clear error for any malformed entry
        raise GroundTruthError(f"{path} is corrupt or not in the NAS-Bench-201 format ({type(exc).__name__}: "
                               f"{exc}); download the benchmark file again") from exc
    return _table(rows, f"official NAS-Bench-201 file {path.name}")


def _import_nats(path: Path) -> GroundTruth:
    try:
        import nats_bench
    except ImportError as exc:
        raise GroundTruthError(f"reading the NATS-Bench data {path} needs the package nats_bench: "
                               f"pip install nats_bench") from exc
    try:
        api = nats_bench.create(str(path), "tss", fast_mode=path.is_dir(), verbose=False)
        rows = []
        for index in range(len(api)):
            full = api.query_meta_info_by_index(index, hp="200")
            less = api.query_meta_info_by_index(index, hp="12")
            rows.append(_row(api[index], index, full, less))
    except Exception as exc:  # the NATS API raises ValueError/AssertionError/IO errors alike
        raise GroundTruthError(f"{path} is not readable NATS-Bench topology data ({type(exc).__name__}: {exc}); "
                               f"give the NATS-tss-v1_0-3ffb9-simple directory (or the .pickle.pbz2 file)") from exc
    return _table(rows, f"NATS-Bench topology data {path.name}")


def import_official(path: str | os.PathLike, trust: bool = False) -> GroundTruth:
    """Ground truth from an official file: a NAS-Bench-201 .pth (via nas_201_api), or a NATS-Bench topology
    directory NATS-tss-v1_0-3ffb9-simple / file *.pickle.pbz2 (via nats_bench).

    A .pth is loaded without executing code from it; pass `trust=True` for a file you trust that needs more.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise GroundTruthError(f"{path} does not exist; give the path of NAS-Bench-201-v1_1-096897.pth (or "
                               f"-v1_0-e61699.pth) or of the NATS-tss-v1_0-3ffb9-simple directory")
    if path.is_dir() or path.name.endswith(".pickle.pbz2"):
        return _import_nats(path)
    return _import_nb201_pth(path, trust)
