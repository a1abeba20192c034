"""Pruned search spaces for the pruning study, chosen with the ground truth (numpy only, no torch).

The ground truth picks the pool on purpose: optimistic pruning drops the truly worst archs, simulating a
pruner that works perfectly; random pruning drops a seeded random subset, simulating one that knows
nothing. A supernet then trains on, and is evaluated on, the pool alone: the truth decides which archs it
sees, never what any of them scores.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from wsnas.core.errors import WsnasError

MODES = ("optimistic", "random")


class PruningError(WsnasError, ValueError):
    """A pruning mode, fraction or ground-truth column that cannot be used."""


def check_fraction(fraction: float) -> float:
    """`fraction` as a float in [0, 1): the share of the space to drop."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        raise PruningError(f"pruning fraction {fraction!r} must be a number in [0, 1) (the share of the space to "
                           f"drop), e.g. 0.5")
    return float(fraction)


def pool_size(n: int, fraction: float) -> int:
    """Archs left after dropping round(fraction * n) of n (at least one)."""
    return max(1, n - round(check_fraction(fraction) * n))


def prune(keys: Sequence[str], truth: ArrayLike, mode: str, fraction: float, seed: int = 0) -> list[str]:
    """The keys kept after dropping `fraction` of them, in their given order.

    optimistic drops the lowest truth (equal truths: the later key goes first); random drops a random subset
    drawn with `seed`. For one mode (and seed) the pools are nested: a larger fraction keeps a subset of the
    pool of a smaller one.
    """
    values = np.asarray(truth, dtype=float)
    if values.shape != (len(keys),):
        raise PruningError(f"{len(keys)} keys but truth has shape {values.shape}; pass one truth value per key")
    missing = np.flatnonzero(~np.isfinite(values))
    if missing.size:
        raise PruningError(f"the ground truth has no value for {missing.size} of {len(keys)} archs (e.g. "
                           f"{keys[missing[0]]!r}); prune by a column that covers the whole space, e.g. cifar10/test")
    if mode == "optimistic":
        order = np.lexsort((np.arange(len(keys)), -values))  # best first, ties in key order
    elif mode == "random":
        order = np.random.default_rng(seed).permutation(len(keys))
    else:
        raise PruningError(f"unknown pruning mode {mode!r}; choose one of {', '.join(MODES)}")
    kept = np.sort(order[:pool_size(len(keys), fraction)])
    return [keys[i] for i in kept]
