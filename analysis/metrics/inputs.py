"""What every ranking metric checks first: aligned 1-D arrays of enough archs, a k that fits."""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from wsnas.core.errors import WsnasError


MIN_ARCHS = 3

StatFn = Callable[[ArrayLike, ArrayLike], float]


class MetricInputError(WsnasError, ValueError):
    """Arrays or parameters that a ranking metric cannot use."""



def as_vector(values: ArrayLike, name: str) -> np.ndarray:
    """`values` as a finite 1-D float array."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(
            f"{name} could not be read as numbers ({exc}); pass one numeric value per architecture"
        ) from None
    if arr.ndim != 1:
        raise MetricInputError(
            f"{name} must be 1-D (one value per architecture) but has shape {arr.shape}; "
            "pass a single column or flatten it"
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise MetricInputError(
            f"{name} has {bad.size} NaN/inf value(s) (positions {bad[:5].tolist()}"
            f"{', ...' if bad.size > 5 else ''}); drop those architectures from both score and truth, "
            "or fix how they were evaluated"
        )
    return arr


def check_count(n: int, name: str) -> None:
    """Ranking metrics need at least MIN_ARCHS architectures."""
    if n < MIN_ARCHS:
        raise MetricInputError(
            f"{name} has {n} architecture(s) but ranking metrics need at least {MIN_ARCHS}; "
            "evaluate more architectures"
        )


def aligned_pair(score: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated, aligned (score, truth) float arrays."""
    x, y = as_vector(score, "score"), as_vector(truth, "truth")
    if x.size != y.size:
        raise MetricInputError(
            f"score has {x.size} values but truth has {y.size}; they must be aligned, one entry per "
            "architecture in the same order: pass the same architectures to both"
        )
    check_count(x.size, "score")
    return x, y


def correlation_pair(score: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Like _pair, and neither array may be constant (a correlation with a constant is undefined)."""
    x, y = aligned_pair(score, truth)
    for arr, name in ((x, "score"), (y, "truth")):
        if np.all(arr == arr[0]):
            raise MetricInputError(
                f"{name} is constant (all {arr.size} values are {arr[0]:g}), so its correlation is "
                f"undefined; check that {name} was really computed per architecture"
            )
    return x, y


def check_k(k: int, n: int) -> int:
    """`k` as an int in 1..n."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise MetricInputError(
            f"k={k!r} is not a whole number of architectures between 1 and {n} (the number of "
            "architectures); pass an int in that range (topk_table also accepts fractions in (0, 1])"
        )
    return int(k)
