"""NAS-Bench-Graph ground truth from the tables the `nas-bench-graph` package ships (light/<dataset>.bench).

Columns: `key` (GraphSpace's canonical string), `index` (the benchmark's hash, `Arch.valid_hash()`), and per
dataset (cora, citeseer): `<dataset>/valid` and `<dataset>/test` (upstream `valid_perf` and `perf`, in %: the
means over the benchmark's three training seeds of the best validation accuracy and of the test accuracy at that
epoch, on the public Planetoid split), `<dataset>/latency_s` (upstream `latency`, seconds per full-graph
inference) and `<dataset>/params` (upstream `para`, counted as a whole number of parameters).

The tables are pickled dicts {hash: {valid_perf, perf, latency, para}} whose `para` values are numpy float64
scalars. They are read with an unpickler that admits only numpy's scalar and dtype constructors (which build
numbers from bytes and run no code) and refuses every other class, so a tampered file cannot execute anything.
The files are pinned by sha256 (nas-bench-graph 1.4.0). Reading both takes well under a second: nothing is cached.
"""
from __future__ import annotations

import hashlib
import io
import pickle
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from wsnas.benchmarks.groundtruth import GroundTruth, GroundTruthError
from wsnas.benchmarks.space import SearchSpace
from wsnas.benchmarks.spaces.graph.arch import to_hash

DATASETS = ("cora", "citeseer")
PINNED_VERSION = "1.4.0"
SHA256 = {
    "cora": "5e69b2f9bb08d8927d9ffd4921f8494a3cea349c9c3a461334cb9dc9e11701a8",
    "citeseer": "99c7f79b73372636305bf73fb32a58b63c57bd1871a152dd62ec72d984c8c50f",
}
_FIELDS = {"valid": "valid_perf", "test": "perf"}


def _numpy_scalar() -> Any:
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar
    return scalar


def _bench_unpickle(data: bytes) -> object:
    """Unpickle plain containers and numbers plus numpy scalars; any other class or function is refused."""
    allowed = {("numpy", "dtype"): np.dtype, ("numpy.core.multiarray", "scalar"): _numpy_scalar(),
               ("numpy._core.multiarray", "scalar"): _numpy_scalar()}

    class NumbersOnly(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"refusing {module}.{name}: expected numbers and numpy scalars only")
            return allowed[(module, name)]

    return NumbersOnly(io.BytesIO(data)).load()


def read_bench(dataset: str) -> dict[int, dict[str, float]]:
    """One dataset's table from the installed package: {benchmark hash: {valid_perf, perf, latency, para}}."""
    where = f"nas_bench_graph/light/{dataset}.bench"
    fix = f"reinstall the pinned package: pip install nas-bench-graph=={PINNED_VERSION}"
    try:
        data = (resources.files("nas_bench_graph") / "light" / f"{dataset}.bench").read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        raise GroundTruthError(f"cannot read {where} ({exc}); the graph ground truth ships in the nas-bench-graph "
                               f"package: {fix}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[dataset]:
        raise GroundTruthError(f"{where} has sha256 {digest}, not the pinned {SHA256[dataset]}: it is another "
                               f"version or corrupt; {fix}")
    try:
        table = _bench_unpickle(data)
        return {int(h): {field: float(entry[field]) for field in ("valid_perf", "perf", "latency", "para")}
                for h, entry in table.items()}  # type: ignore[union-attr]
    except (pickle.UnpicklingError, AttributeError, KeyError, TypeError, ValueError, EOFError) as exc:
        raise GroundTruthError(f"{where} is not a NAS-Bench-Graph table ({type(exc).__name__}: {exc}); {fix}") from exc


def load_graph_truth(space: SearchSpace) -> GroundTruth:
    """Cora and CiteSeer ground truth, one row per canonical arch of `space` (the GraphSpace the registry
    shares, whose enumeration is cached) in its enumeration (hash) order."""
    archs = space.sample(None, seed=0)  # all of them, in enumeration order
    hashes = [to_hash(arch) for arch in archs]
    columns: dict[str, Any] = {"key": [space.format(arch) for arch in archs], "index": hashes}
    for dataset in DATASETS:
        bench = read_bench(dataset)
        if set(bench) != set(hashes):
            raise GroundTruthError(f"nas_bench_graph/light/{dataset}.bench lists {len(bench)} archs, not the "
                                   f"{len(hashes)} canonical NAS-Bench-Graph archs; reinstall nas-bench-graph=="
                                   f"{PINNED_VERSION}")
        rows = [bench[h] for h in hashes]
        columns.update({f"{dataset}/{split}": [100.0 * row[field] for row in rows] for split, field in _FIELDS.items()})
        columns[f"{dataset}/latency_s"] = [row["latency"] for row in rows]
        columns[f"{dataset}/params"] = [round(row["para"] * 1e6) for row in rows]
    return GroundTruth(pd.DataFrame(columns), space.name, f"NAS-Bench-Graph {', '.join(DATASETS)}: valid/test accuracy "
                                                       f"(mean of 3 seeds), latency, params (nas-bench-graph "
                                                       f"{PINNED_VERSION} light tables)")
