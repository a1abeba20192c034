"""Free baselines: rankings any supernet must beat to be worth its training (no torch).

Cost proxies come from the space's own cost model (SearchSpace.features: parameters and FLOPs on the benchmark's
training skeleton); zero-cost proxies are computed by `wsnas proxies` at initialisation (one batch per arch) into
DIR/proxies.csv beside a run's or a group's scores; a ground-truth table that ships its publisher's zero-cost
proxies (NASLib's samples: columns `naslib/<proxy>`) gives those as baselines too, labelled by their column. Each baseline ranks the archs by its value, higher = better;
a proxy's -inf (a net whose output ignores its input) ranks last, tied with the others of its kind.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from wsnas.analysis.features import FLOPS, PARAMS, feature_table
from wsnas.analysis.replicated import ScoreSet
from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.naslib_truth import PROXY_PREFIX
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
    return _value_sets(table.drop_duplicates("key").set_index("key"), list(table.columns.drop("key")), keys)


def published_baselines(truth: GroundTruth | None, keys: Sequence[str]) -> list[ScoreSet]:
    """The zero-cost proxies the truth table's publisher computed (`naslib/<proxy>` columns) for `keys`."""
    if truth is None:
        return []
    columns = [c for c in truth.frame.columns if c.startswith(PROXY_PREFIX)]
    table = truth.frame.set_index("key")
    return _value_sets(table, columns, keys)


def _value_sets(table, columns: Sequence[str], keys: Sequence[str]) -> list[ScoreSet]:
    """One fixed score set per column of `table` (indexed by key) over `keys`; a column with NaN or +inf for one
    of them is left out, and -inf (a net whose output ignores its input) ranks last, tied with the others."""
    if not set(keys) <= set(table.index):
        return []
    sets = []
    for column in columns:
        values = table.loc[list(keys), column].to_numpy(dtype=float)
        if np.isnan(values).any() or np.isposinf(values).any():
            continue
        finite = values[np.isfinite(values)]
        if finite.size < values.size:
            values = np.where(np.isfinite(values), values, (finite.min() if finite.size else 0.0) - 1.0)
        sets.append(ScoreSet(column, tuple(keys), values[None, :], (column,), fixed=True))
    return sets


def baselines(space: str, directory: str | Path, keys: Sequence[str],
              truth: GroundTruth | None = None) -> list[ScoreSet]:
    """Every free baseline available for `keys`: cost proxies, wsnas's zero-cost proxies, then those published
    with the truth table."""
    return [*cost_baselines(space, keys), *proxy_baselines(directory, keys), *published_baselines(truth, keys)]
