"""NAS-Bench-Macro ground truth from the benchmark's JSON (xiusu/NAS-Bench-Macro data/nas-bench-macro_cifar10.json).

Columns: `key` (the 8-char arch key), `index` (the key read as a base-3 number, MacroSpace's enumeration order),
`cifar10/test` (mean of the three runs, %, upstream `mean_acc`), `cifar10/test#seed0..2` (the runs,
upstream `test_acc`; each is the best test accuracy over its 50 epochs), `params` and `flops` (raw counts at the
benchmark's width, upstream `params`/`flops`). Parsing takes well under a second, so nothing is cached.
"""
from __future__ import annotations

import json
import os

import pandas as pd

from wsnas.benchmarks.groundtruth import SEED_MARK, GroundTruth, GroundTruthError
from wsnas.benchmarks.macro import MacroSpace
from wsnas.benchmarks.sources import SOURCES, resolve

SOURCE = "nas-bench-macro_cifar10"
METRIC = "cifar10/test"
N_SEEDS = 3


def load_macro(mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The NAS-Bench-Macro ground truth from the pinned source (mirror or download)."""
    source = SOURCES[SOURCE]
    path = resolve(source, mirror)
    space = MacroSpace()
    try:
        table = json.loads(path.read_text())
        keys = [space.format(arch) for arch in space.enumerate()]
        entries = [table[key] for key in keys]
        if len(table) != len(keys) or any(len(e["test_acc"]) != N_SEEDS for e in entries):
            raise ValueError(f"expected {len(keys)} archs with {N_SEEDS} runs each")
        columns = {"key": keys, "index": range(len(keys)), METRIC: [float(e["mean_acc"]) for e in entries]}
        columns.update({f"{METRIC}{SEED_MARK}{k}": [float(e["test_acc"][k]) for e in entries] for k in range(N_SEEDS)})
        columns.update({name: [int(e[name]) for e in entries] for name in ("params", "flops")})
    except (ValueError, KeyError, TypeError) as exc:  # JSON syntax, a missing arch or field, a wrong shape
        raise GroundTruthError(f"{path} is not the NAS-Bench-Macro table ({type(exc).__name__}: {exc}); re-fetch "
                               f"it from {source.url}") from exc
    return GroundTruth(pd.DataFrame(columns), "macro", f"NAS-Bench-Macro: cifar10/test mean and 3 runs, params, "
                                                       f"flops ({source.origin})")
