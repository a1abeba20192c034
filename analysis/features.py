"""Per-space architecture features for the bias studies: size, cost and which choice sits where (no torch).

`arch_features(space, key)` returns the space's `SearchSpace.features` as a flat dict; a space that provides
nothing returns {} and the studies that need it say so. Keys a space may provide:

    params_M, flops_M     parameters and FLOPs in millions on the benchmark's own training skeleton
    n_ops:<op>            how many slots (edges, layers) carry <op> (every op of the space has a key, 0 included)
    edge:<name>           the op at slot <name>
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from wsnas.benchmarks.registry import get_space

PARAMS = "params_M"
FLOPS = "flops_M"
OP_COUNT = "n_ops:"
EDGE = "edge:"


def arch_features(space_name: str, key: str) -> dict[str, Any]:
    """Features of one arch (see the module docstring); {} for a space that provides none."""
    space = get_space(space_name)
    return space.features(space.parse(key))


def feature_table(space_name: str, keys: Sequence[str]) -> pd.DataFrame:
    """One row of arch_features per key, in order (no columns for a space that provides none)."""
    return pd.DataFrame([arch_features(space_name, k) for k in keys], index=range(len(keys)))


def columns_with(table: pd.DataFrame, prefix: str) -> dict[str, str]:
    """{name after the prefix: column} for the columns of `table` that start with `prefix`."""
    return {c[len(prefix):]: c for c in table.columns if c.startswith(prefix)}
