"""Per-space architecture features for the bias studies: size, cost and which op sits on which edge (no torch).

`arch_features(space, key)` returns a flat dict; a space that provides nothing returns {} and the studies
that need it say so. Keys a space may provide:

    params_M, flops_M     parameters and FLOPs in millions on the benchmark's own training skeleton
    n_ops:<op>            how many edges of the cell carry <op> (every op of the space has a key, 0 included)
    edge:<name>           the op on edge <name>

NAS-Bench-201 is implemented: cost from wsnas.benchmarks.nb201_cost at the benchmark's C=16, N=5 (whatever
size the supernet was trained at), edges named "<to><-<from>" (e.g. "3<-1") in the benchmark's string order.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd

from wsnas.benchmarks.nb201 import EDGES, OPS, parse_arch
from wsnas.benchmarks.nb201_cost import nb201_cost

PARAMS = "params_M"
FLOPS = "flops_M"
OP_COUNT = "n_ops:"
EDGE = "edge:"


def _nb201_features(key: str) -> dict[str, Any]:
    arch = parse_arch(key)
    params, flops = nb201_cost(arch, C=16, N=5)
    features: dict[str, Any] = {PARAMS: params, FLOPS: flops}
    features.update({f"{OP_COUNT}{op}": arch.count(op) for op in OPS})
    features.update({f"{EDGE}{to}<-{src}": op for (to, src), op in zip(EDGES, arch)})
    return features


FEATURES: dict[str, Callable[[str], dict[str, Any]]] = {"nb201": _nb201_features}


def arch_features(space_name: str, key: str) -> dict[str, Any]:
    """Features of one arch (see the module docstring); {} for a space that provides none."""
    hook = FEATURES.get(space_name)
    return hook(key) if hook else {}


def feature_table(space_name: str, keys: Sequence[str]) -> pd.DataFrame:
    """One row of arch_features per key, in order (no columns for a space that provides none)."""
    return pd.DataFrame([arch_features(space_name, k) for k in keys], index=range(len(keys)))


def columns_with(table: pd.DataFrame, prefix: str) -> dict[str, str]:
    """{name after the prefix: column} for the columns of `table` that start with `prefix`."""
    return {c[len(prefix):]: c for c in table.columns if c.startswith(prefix)}
