"""Ground truth of NAS-Bench-Macro and Channel-Bench-Macro (xiusu/NAS-Bench-Macro, xiusu/Channel-Bench-Macro).

Both benchmarks, by the same author, publish one JSON dict {arch key: {<runs>: [3 accuracies], <mean>: ...,
params, flops}}; only the names of the two accuracy fields differ (NAS-Bench-Macro: `test_acc`/`mean_acc`,
Channel-Bench-Macro: `acc`/`mean`). Columns: `key`, `index` (position in the space's enumeration),
`cifar10/test` (mean of the three CIFAR-10 test runs, %), `cifar10/test#seed0..2` (the runs), `params` and
`flops` (raw counts at the benchmark's width). Parsing takes well under a second, so nothing is cached.
"""
from __future__ import annotations

import json
import os

import pandas as pd

from wsnas.benchmarks.groundtruth import SEED_MARK, GroundTruth, GroundTruthError
from wsnas.benchmarks.sources import SOURCES, resolve
from wsnas.benchmarks.space import SearchSpace

METRIC = "cifar10/test"
N_SEEDS = 3


def load_seed_table(space: SearchSpace, source_name: str, runs: str, mean: str, title: str,
                    mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The table of `space` from the pinned source `source_name` (mirror or download); `runs` and `mean` name
    the JSON fields of the per-run accuracies and their mean, `title` the benchmark in messages."""
    source = SOURCES[source_name]
    path = resolve(source, mirror)
    try:
        table = json.loads(path.read_text())
        keys = [space.format(arch) for arch in space.enumerate()]
        entries = [table[key] for key in keys]
        if len(table) != len(keys) or any(len(e[runs]) != N_SEEDS for e in entries):
            raise ValueError(f"expected {len(keys)} archs with {N_SEEDS} runs each, got {len(table)} archs")
        columns = {"key": keys, "index": range(len(keys)), METRIC: [float(e[mean]) for e in entries]}
        columns.update({f"{METRIC}{SEED_MARK}{k}": [float(e[runs][k]) for e in entries] for k in range(N_SEEDS)})
        columns.update({name: [int(e[name]) for e in entries] for name in ("params", "flops")})
    except (ValueError, KeyError, TypeError) as exc:  # JSON syntax, a missing arch or field, a wrong shape
        raise GroundTruthError(f"{path} is not the {title} table ({type(exc).__name__}: {exc}); re-fetch it from "
                               f"{source.url}") from exc
    return GroundTruth(pd.DataFrame(columns), space.name,
                       f"{title}: cifar10/test mean and 3 runs, params, flops ({source.origin})")
