"""The pruning study's torch-free part: the pruned pools (chosen with the ground truth), each pool's row of
figures, the figure and the record. The training driver is wsnas.workflows.pruning_study.

The ground truth picks the pool on purpose: optimistic pruning drops the truly worst archs, simulating a
pruner that works perfectly; random pruning drops a seeded random subset, simulating one that knows
nothing. A supernet then trains on, and is evaluated on, the pool alone: the truth decides which archs it
sees, never what any of them scores.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from wsnas.analysis.plots.style import column, floats, styled, yerr
from wsnas.analysis.replicated import replicate_summary
from wsnas.analysis.studies.record import RUN, STUDY_DIR, Study
from wsnas.analysis.verdicts import supernet_set
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError

STUDY = "pruning"
MODES = ("optimistic", "random")
TOP_K = 10
MODE_COLORS = {"optimistic": "tab:blue", "random": "tab:gray"}


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


def pool_row(mode: str, fraction: float, kept: Sequence[str], mean_truth: float, tables: list[Any], runs_dir: Path,
             cfg: Config) -> dict[str, Any]:
    """The study's row of one pool: its replicates' figures (mean, two-level CI, sd) on the archs sampled from it."""
    members = [str(runs_dir / f"rep-{i}") for i in range(len(tables))]
    scores = supernet_set(tables, members)
    truth = tables[0].drop_duplicates("key").set_index("key").loc[list(scores.keys), "truth"].to_numpy(dtype=float)
    summary = replicate_summary(scores, truth, topk=[TOP_K], n_boot=cfg.analysis.n_boot, seed=cfg.analysis.seed)
    tau, best = summary["kendall"], summary[f"supernet_best@{TOP_K}"]
    return {"mode": mode, "fraction": fraction, "n_pool": len(kept), "mean_truth": mean_truth,
            "n_archs": len(scores.keys), "replicates": len(tables),
            "supernet_top10_best": best["value"], "supernet_top10_best_ci_low": best["ci_low"],
            "supernet_top10_best_ci_high": best["ci_high"], "supernet_top10_best_sd": best["sd"],
            "random_top10_expected": summary["random_expected_best"][str(TOP_K)],
            "kendall": tau["value"], "kendall_ci_low": tau["ci_low"], "kendall_ci_high": tau["ci_high"],
            "kendall_sd": tau["sd"], "kendall_per_replicate": tau["per_replicate"], "run_dir": str(runs_dir)}


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The study's rows as a plain-text table for the terminal."""
    lines = [f"{'mode':<10} {'p':>5} {'pool':>6} {'mean truth':>10} {'top-10 best':>11} {'95% CI':>15} "
             f"{'random 10':>9} {'kendall':>8} {'95% CI':>17} {'reps':>4}"]
    for r in rows:
        lines.append(f"{r['mode']:<10} {r['fraction']:>5g} {r['n_pool']:>6} {r['mean_truth']:>10.2f} "
                     f"{r['supernet_top10_best']:>11.2f} [{r['supernet_top10_best_ci_low']:.2f}, "
                     f"{r['supernet_top10_best_ci_high']:.2f}] {r['random_top10_expected']:>9.2f} {r['kendall']:>+8.3f} "
                     f"[{r['kendall_ci_low']:+.3f}, {r['kendall_ci_high']:+.3f}] {r['replicates']:>4}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ figure

@styled
def pruning_figure(doc: dict[str, Any], title: str) -> Figure:
    """Search-space pruning by the supernet (optimistic) against random pruning, by pruned fraction."""
    fig = Figure(figsize=(14, 4.4), layout="constrained")
    pool_ax, top_ax, tau_ax = fig.subplots(1, 3)
    modes = sorted({r["mode"] for r in doc["rows"]})
    for mode in modes:
        rows = sorted((r for r in doc["rows"] if r["mode"] == mode), key=lambda r: r["fraction"])
        p = column(rows, "fraction")
        color = MODE_COLORS.get(mode)
        pool_ax.plot(p, column(rows, "mean_truth"), marker="o", color=color, label=f"{mode} pruning")
        best = column(rows, "supernet_top10_best")
        top_ax.errorbar(p, floats(best), capsize=4, marker="o", color=color, label=f"{mode}: supernet top-10",
                        yerr=yerr(best, column(rows, "supernet_top10_best_ci_low"),
                                   column(rows, "supernet_top10_best_ci_high")))
        top_ax.plot(p, column(rows, "random_top10_expected"), ls="--", marker="x", color=color,
                    label=f"{mode}: random 10 (expected)")
        tau_ax.errorbar(p, floats(column(rows, "kendall")), capsize=4, marker="o", color=color, label=mode,
                        yerr=yerr(column(rows, "kendall"), column(rows, "kendall_ci_low"),
                                   column(rows, "kendall_ci_high")))
    fractions = sorted({r["fraction"] for r in doc["rows"]})
    for ax in (pool_ax, top_ax, tau_ax):
        ax.set_xlabel("fraction of the space pruned")
        ax.set_xticks(fractions)
        ax.legend(loc="best")
    pool_ax.set_ylabel("mean true accuracy (%)")
    pool_ax.set_title("mean of the remaining archs")
    top_ax.set_ylabel("best true accuracy of 10 picked (%, 95% CI)")
    top_ax.set_title("supernet top-10 vs random 10")
    tau_ax.set_ylabel("Kendall τ on the remaining pool (95% CI)")
    tau_ax.set_title("ranking on the remaining pool")
    reps = doc.get("config", {}).get("replicates", 1)
    fig.suptitle(f"{title}: search-space pruning ({doc['truth']}"
                 + (f"; mean over {reps} supernets per pool, replicate-level CIs)" if reps > 1 else ")"))
    return fig


RECORD = Study(
    name=STUDY, title="Search-space pruning by the supernet",
    caption="The supernet prunes the space (optimistic) or archs are pruned at random: the remaining pool's "
            "mean true accuracy, the best true accuracy of 10 picked from it, and Kendall tau on it.",
    producer="wsnas prune-study --out PRUNING_DIR && wsnas report {dir} PRUNING_DIR",
    draw=lambda doc, title, directory: pruning_figure(doc, title),
    applies_to=(RUN, STUDY_DIR),
)
