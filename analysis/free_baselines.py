"""Free baselines: rankings any supernet must beat to be worth its training (no torch).

Cost proxies come from the space's own cost model (SearchSpace.features: parameters and FLOPs on the benchmark's
training skeleton); zero-cost proxies are computed by `wsnas proxies` at initialisation (one batch per arch) into
DIR/proxies.csv beside a run's or a group's scores. Each baseline ranks the archs by its value, higher = better;
a proxy's -inf (a net whose output ignores its input) ranks last, tied with the others of its kind.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from wsnas.analysis.features import FLOPS, PARAMS, feature_table
from wsnas.analysis.replicated import ScoreSet
from wsnas.benchmarks.registry import get_space, space_names
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import PROXIES
from wsnas.core.runs import read_table

COST_BASELINES = {PARAMS: "params", FLOPS: "flops"}


def cost_baselines(space: str | None, keys: Sequence[str], features: pd.DataFrame | None = None) -> list[ScoreSet]:
    """Parameter count and FLOPs of each arch (those the features provide: `features`, a table indexed by key such
    as an audit's --features, else the space's; none for an unknown space without `features`)."""
    if features is not None:
        features = features.loc[list(keys)]
    elif space in space_names():
        features = feature_table(space, [get_space(space).key(k) for k in keys])
    else:
        return []
    return [ScoreSet(name, tuple(keys), features[column].to_numpy(dtype=float)[None, :], (name,),
                     fixed=True)
            for column, name in COST_BASELINES.items() if column in features.columns]


def proxy_baselines(directory: str | Path, keys: Sequence[str]) -> list[ScoreSet]:
    """The zero-cost proxies of DIRECTORY/proxies.csv for `keys` (none when the file is absent; a proxy that
    misses one of the keys is left out)."""
    path = Path(directory) / PROXIES
    if not path.is_file():
        return []
    table = read_table(path)
    if "key" not in table.columns:
        raise WsnasError(f"{path} has no 'key' column; rerun `wsnas proxies {directory}`")
    table = table.drop_duplicates("key").set_index("key")
    if not set(keys) <= set(table.index):
        return []
    sets = []
    for column in table.columns:
        values = table.loc[list(keys), column].to_numpy(dtype=float)
        if np.isnan(values).any() or np.isposinf(values).any():
            continue
        finite = values[np.isfinite(values)]
        if finite.size < values.size:  # -inf: a net whose output ignores its input ranks last (tied)
            values = np.where(np.isfinite(values), values, (finite.min() if finite.size else 0.0) - 1.0)
        sets.append(ScoreSet(column, tuple(keys), values[None, :], (column,), fixed=True))
    return sets


def baselines(space: str, directory: str | Path, keys: Sequence[str]) -> list[ScoreSet]:
    """Every free baseline available for `keys`: cost proxies, then zero-cost proxies."""
    return [*cost_baselines(space, keys), *proxy_baselines(directory, keys)]
