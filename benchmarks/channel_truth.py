"""Channel-Bench-Macro ground truth from the benchmark's JSON (xiusu/Channel-Bench-Macro Results_<skeleton>.json).

Columns: `key` (the 7-digit arch key), `index` (position in ChannelSpace's enumeration: the digits - 1 read as a
base-4 number), `cifar10/test` (mean of the three runs, %, upstream `mean`), `cifar10/test#seed0..2` (the runs,
upstream `acc`), `params` and `flops` (raw counts at the benchmark's width, upstream `params`/`flops`). Parsing
takes well under a second, so nothing is cached.
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pandas as pd

from wsnas.benchmarks.groundtruth import SEED_MARK, GroundTruth, GroundTruthError
from wsnas.benchmarks.sources import SOURCES, resolve

if TYPE_CHECKING:
    from wsnas.benchmarks.channel import ChannelSpace

METRIC = "cifar10/test"
N_SEEDS = 3


def load_channel(space: "ChannelSpace", mirror: str | os.PathLike | None = None) -> GroundTruth:
    """The ground truth of one Channel-Bench-Macro skeleton from its pinned source (mirror or download)."""
    source = SOURCES[space.skeleton.source]
    path = resolve(source, mirror)
    try:
        table = json.loads(path.read_text())
        keys = [space.format(arch) for arch in space.enumerate()]
        entries = [table[key] for key in keys]
        if len(table) != len(keys) or any(len(e["acc"]) != N_SEEDS for e in entries):
            raise ValueError(f"expected {len(keys)} archs with {N_SEEDS} runs each, got {len(table)} archs")
        columns = {"key": keys, "index": range(len(keys)), METRIC: [float(e["mean"]) for e in entries]}
        columns.update({f"{METRIC}{SEED_MARK}{k}": [float(e["acc"][k]) for e in entries] for k in range(N_SEEDS)})
        columns.update({name: [int(e[name]) for e in entries] for name in ("params", "flops")})
    except (ValueError, KeyError, TypeError) as exc:  # JSON syntax, a missing arch or field, a wrong shape
        raise GroundTruthError(f"{path} is not the Channel-Bench-Macro {space.skeleton.title} table "
                               f"({type(exc).__name__}: {exc}); re-fetch it from {source.url}") from exc
    return GroundTruth(pd.DataFrame(columns), space.name,
                       f"Channel-Bench-Macro {space.skeleton.title}: cifar10/test mean and 3 runs, params, flops "
                       f"({source.origin})")
