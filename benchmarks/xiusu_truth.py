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
from wsnas.benchmarks.sources import Source, resolve
from wsnas.benchmarks.space import SearchSpace

METRIC = "cifar10/test"
N_SEEDS = 3

_CHANNEL = "https://raw.githubusercontent.com/xiusu/Channel-Bench-Macro/4ff596e814cc88cc9add77ff83fc1a2f05ee1fef/"
XIUSU_SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("nas-bench-macro_cifar10",
           "https://raw.githubusercontent.com/xiusu/NAS-Bench-Macro/"
           "61a2bfc2ca0dce04d0997e6cf498047c27d6acf2/data/nas-bench-macro_cifar10.json",
           "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297",
           "groundtruth/nas-bench-macro/nas-bench-macro_cifar10.json", 1178821),
    Source("channel_bench_macro_mobilenet", _CHANNEL + "Results_MobileNet.json",
           "f640474d8ff3ff2231d0c45986bb0f10af291545316342fb009952e7641908e0",
           "groundtruth/channel-bench-macro/Results_MobileNet.json", 2793867),
    Source("channel_bench_macro_resnet", _CHANNEL + "Results_ResNet.json",
           "bf13bcaea3f2076f2c1bfbf5c2fee044aafe0385fae6a0d64c433b1d7f5a7520",
           "groundtruth/channel-bench-macro/Results_ResNet.json", 2821965),
)}


def load_seed_table(space: SearchSpace, source_name: str, runs: str, mean: str, title: str,
                    mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The table of `space` from the pinned source `source_name` in XIUSU_SOURCES (mirror or download); `runs` and `mean` name
    the JSON fields of the per-run accuracies and their mean, `title` the benchmark in messages."""
    source = XIUSU_SOURCES[source_name]
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
