"""The unbiased null that the size-bias and operator-bias studies judge their statistics against (no torch).

Any scorer that tracks the truth imperfectly moves these statistics without any bias (regression to the mean:
tau(params, supernet) shrinks with the scorer's noise; an old form of the operator statistic, supernet minus
true percentile against op counts, gives an op-blind scorer at Kendall 0.41 about -8 points per
nor_conv_3x3 edge on NB201). So each statistic is set against the null of wsnas.analysis.null: unbiased
scorers with the supernet's own scores and Kendall, which see the truth plus noise and nothing else. A
finding is stated only when a statistic lies outside the null's simultaneous 95% band over all the study's
statistics (so at most 5% of unbiased supernets get any finding from a study); otherwise the study says
"no evidence". Intervals in brackets are 95% percentile-bootstrap intervals over archs (seeds fixed).

Replicates: each study takes one StudyInput per supernet replicate, scored on the same archs (a single run
is a list of one). Every statistic is given per replicate and as the mean over replicates; the verdict is
the mean's, against the band of the mean over the R replicates' null draws (one permutation for all, so the
null replicates agree with each other as the replicates do). Intervals in brackets resample the archs with
the seeds fixed (these supernets); the headline Kendall of `wsnas analyze` is the one with seeds random.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from wsnas.analysis.metrics import MIN_ARCHS
from wsnas.analysis.null import NullModel, kendall_rows, null_bands, rank_rows
from wsnas.analysis.studies.inputs import StudyInput
from wsnas.core.run_files import SUPERNET_ACC

NULL_LEVEL = 0.95
NULL_SIMS = 1000
CHECK_SIMS = 250  # null draws whose Kendall with the truth is reported as the check of the match
NULL_RULE = (
    "null: the supernet's own scores with its archs permuted among truth neighbours (strata of 5 archs sorted by "
    "the truth; one permutation for all replicates), an unbiased scorer with the supernet's marginal, its "
    "precision along the truth and its replicates' agreement; a statistic is a finding only outside the "
    "simultaneous 95% band of the null over all statistics of the study, which bounds the study's "
    "false-positive rate at 5%"
)


class Unavailable(Exception):
    """The study cannot run on these inputs; the message says why."""


@dataclass
class Aligned:
    """The replicates' final scores on their common archs, the truth and the space's features."""

    keys: list[str]
    truth: np.ndarray  # (n,)
    scores: np.ndarray  # (R, n)
    features: pd.DataFrame
    epochs: list[int]
    notes: list[str] = field(default_factory=list)


def align(reps: Sequence[StudyInput]) -> Aligned:
    """The archs every replicate scored at its newest epoch, in the first replicate's order."""
    if not reps:
        raise ValueError("a study needs at least one replicate (a single run is a list of one StudyInput)")
    if len({(inp.cfg.space, inp.metric) for inp in reps}) > 1:
        raise Unavailable("the replicates differ in space or ground-truth column: "
                           + ", ".join(f"{inp.run.path}: {inp.cfg.space} {inp.metric}" for inp in reps))
    frames = [inp.final() for inp in reps]
    epochs = [int(f["epoch"].max()) for f in frames]
    finals = [f.set_index("key") for f in frames]
    common = set.intersection(*(set(f.index) for f in finals))
    keys = [k for k in finals[0].index if k in common and np.isfinite(finals[0].at[k, "truth"])
            and all(np.isfinite(f.at[k, SUPERNET_ACC]) for f in finals)]
    notes = []
    left_out = len(set.union(*(set(f.index) for f in finals))) - len(keys)
    if left_out:
        notes.append(f"{left_out} archs not scored (finitely) by every replicate were left out")
    if len(keys) < MIN_ARCHS:
        raise Unavailable(f"the replicates share {len(keys)} scored archs; the study needs at least {MIN_ARCHS}")
    scores = np.vstack([f.loc[keys, SUPERNET_ACC].to_numpy(dtype=float) for f in finals])
    truth = finals[0].loc[keys, "truth"].to_numpy(dtype=float)
    for name, values in (("supernet score", scores), ("truth", truth[None])):
        if np.any(np.ptp(values, axis=1) == 0):
            raise Unavailable(f"the {name} is constant over the {len(keys)} archs: no ranking to study")
    return Aligned(keys, truth, scores, reps[0].features_of(keys), epochs, notes)


def aligned(reps: Sequence[StudyInput], study: str) -> Aligned | dict[str, Any]:
    """align(reps), or the study's "unavailable" document saying why it cannot run."""
    try:
        return align(reps)
    except Unavailable as exc:
        return reps[0].unavailable(study, str(exc))


def percentiles(values: np.ndarray) -> np.ndarray:
    """Average-rank percentile along the last axis: 0 = worst, 100 = best (ties share their average rank)."""
    return (rank_rows(values) - 1) / max(1, values.shape[-1] - 1) * 100


def ci(resamples: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of bootstrap values (NaN ones dropped)."""
    finite = resamples[np.isfinite(resamples)]
    if finite.size == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [0.025, 0.975])
    return float(low), float(high)


@dataclass
class Statistic:
    """One statistic of a study: per-replicate values, their null draws (sims, R) and the mean's bootstrap."""

    label: dict[str, Any]
    values: np.ndarray  # (R,)
    null: np.ndarray  # (sims, R)
    boot: np.ndarray  # (n_boot,) the mean over replicates on each resample of archs


def judge(statistics: list[Statistic], level: float = NULL_LEVEL) -> list[dict[str, Any]]:
    """Rows of the statistics: the replicate mean with its CI and null band (the family being all of them),
    and per replicate its value and band (the family being that replicate's statistics)."""
    if not statistics:
        return []
    mean_bands = null_bands([s.values.mean() for s in statistics],
                            np.column_stack([s.null.mean(axis=1) for s in statistics]), level)
    reps = statistics[0].values.size
    rep_bands = [null_bands([s.values[r] for s in statistics], np.column_stack([s.null[:, r] for s in statistics]),
                            level) for r in range(reps)]
    rows = []
    for j, s in enumerate(statistics):
        low, high = ci(s.boot)
        rows.append({**s.label, "value": float(s.values.mean()), "ci_low": low, "ci_high": high, **mean_bands[j],
                     "replicates": [{"value": float(s.values[r]), **rep_bands[r][j]} for r in range(reps)]})
    return rows


def band_text(row: dict[str, Any], fmt: str) -> str:
    return (f"{row['value']:{fmt}} [{row['ci_low']:{fmt}}, {row['ci_high']:{fmt}}] (archs resampled, seeds fixed); "
            f"an unbiased scorer with the supernet's precision along the truth: {row['null_median']:{fmt}}, 95% band "
            f"[{row['null_sim_low']:{fmt}}, {row['null_sim_high']:{fmt}}]")


def replicate_note(rows: list[dict[str, Any]], reps: int) -> list[str]:
    if reps < 2:
        return []
    flagged = [sum(r["replicates"][i]["outside"] for r in rows) for i in range(reps)]
    return [f"figures are means over {reps} replicates; statistics outside the band per replicate: "
            f"{', '.join(map(str, flagged))}"]


def null_summary(model: NullModel, null: np.ndarray, truth: np.ndarray, sims: int, level: float) -> dict[str, Any]:
    """The fitted null and the check that it matches: the mean Kendall with the truth of (up to
    CHECK_SIMS of) its draws, and its Monte Carlo standard error."""
    check = null[:CHECK_SIMS]
    taus = kendall_rows(check.reshape(-1, truth.size), truth).reshape(check.shape[:2])
    return {**model.describe(), "sims": sims, "level": level, "null_kendall_mean": taus.mean(axis=0).tolist(),
            "null_kendall_mc_se": (taus.std(axis=0, ddof=1) / np.sqrt(taus.shape[0])).tolist()}
