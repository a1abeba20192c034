"""Figures of the search methods' report (matplotlib's Agg canvas, no torch): what each method derives epoch by
epoch, how its arch distribution moves, how its rankings compare, and SNAS's resource trade-off."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from wsnas.analysis.plots.style import styled


@dataclass
class Trajectory:
    """A method's derived arch's truth per epoch, one row per search seed (NaN past a seed's last epoch)."""

    label: str
    epochs: np.ndarray
    truth: np.ndarray  # (seeds, epochs)


@dataclass
class RankingRow:
    """One method's rankings against the truth: per seed (value, ci_low, ci_high) of Kendall tau."""

    label: str
    method: list[tuple[float, float, float]]
    supernet: list[tuple[float, float, float]]
    uniform: list[tuple[float, float, float]] = field(default_factory=list)


def _colors(n: int) -> list:
    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


@styled
def trajectory_figure(trajectories: Sequence[Trajectory], references: dict[str, float], metric: str,
                      title: str) -> Figure:
    """The derived arch's true accuracy against search epoch, per method: mean over seeds, band min..max,
    with horizontal reference lines (optimum, random archs)."""
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.subplots()
    for trajectory, color in zip(trajectories, _colors(len(trajectories))):
        truth = trajectory.truth
        counted = np.isfinite(truth).sum(axis=0)
        mean = np.where(counted > 0, np.nansum(truth, axis=0) / np.maximum(counted, 1), np.nan)
        label = f"{trajectory.label} ({truth.shape[0]} seed{'s' if truth.shape[0] > 1 else ''})"
        ax.plot(trajectory.epochs, mean, marker="o", ms=3, color=color, label=label)
        if truth.shape[0] > 1:
            with np.errstate(all="ignore"):
                ax.fill_between(trajectory.epochs, np.nanmin(truth, axis=0), np.nanmax(truth, axis=0), color=color,
                                alpha=0.15, linewidth=0)
    for (name, value), style in zip(references.items(), ("-", "--", ":", "-.")):
        ax.axhline(value, color="black", linestyle=style, linewidth=1, label=f"{name}: {value:.2f}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("search epoch")
    ax.set_ylabel(f"true accuracy of the derived arch (%, {metric})")
    ax.set_title(f"{title}: what each method derives, epoch by epoch (band: min..max over seeds)")
    ax.legend(loc="lower right", fontsize=9)
    return fig


@styled
def shares_figure(panels: Sequence[tuple[str, pd.DataFrame]], title: str) -> Figure:
    """Op share per slot against epoch, one row per method (its first seed), one column per slot: each choice's
    probability under the method's arch distribution, stacked to 1."""
    slots = list(dict.fromkeys(panels[0][1].slot))
    choices = list(dict.fromkeys(c for _, df in panels for c in df.choice))
    colors = dict(zip(choices, _colors(len(choices))))
    fig = Figure(figsize=(2.4 * len(slots) + 1.5, 2.2 * len(panels) + 1.2), layout="constrained")
    axes = fig.subplots(len(panels), len(slots), squeeze=False, sharex="row", sharey=True)
    for row, (label, df) in zip(axes, panels):
        wide = df.pivot_table(index=["slot", "epoch"], columns="choice", values="share").fillna(0.0)
        for ax, slot in zip(row, slots):
            part = wide.loc[slot] if slot in wide.index.get_level_values(0) else None
            if part is None:
                ax.set_visible(False)
                continue
            ax.stackplot(part.index, [part[c] if c in part else np.zeros(len(part)) for c in choices],
                         colors=[colors[c] for c in choices])
            ax.set_ylim(0, 1)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
            ax.set_title(f"{label}: {slot}", fontsize=9)
            ax.grid(False)
        row[0].set_ylabel("share")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    handles = [axes[0][0].fill_between([], [], color=colors[c], label=c) for c in choices]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(choices), 6), fontsize=9)
    fig.suptitle(f"{title}: op share per slot against search epoch (a share going to 1 is a collapse onto it)")
    return fig


@styled
def ranking_figure(rows: Sequence[RankingRow], metric: str, title: str) -> Figure:
    """Kendall tau (95% bootstrap CI, one point per seed) of each method's own ranking, of its supernet's ranking
    (BN-recalibrated held-out accuracy) and of the uniform supernet of the same budget, over the evaluated archs."""
    fig = Figure(figsize=(max(6.5, 1.6 * len(rows) + 2), 4.8), layout="constrained")
    ax = fig.subplots()
    kinds = (("method", "method's own ranking", "tab:purple"), ("supernet", "method's supernet", "tab:blue"),
             ("uniform", "uniform supernet, same budget", "tab:gray"))
    for k, (attr, label, color) in enumerate(kinds):
        shown = False
        for i, row in enumerate(rows):
            points = getattr(row, attr)
            for j, (value, low, high) in enumerate(points):
                if value is None or not math.isfinite(value):
                    continue
                x = i + (k - 1) * 0.25 + (j - (len(points) - 1) / 2) * 0.05
                err = None if low is None or high is None else [[value - low], [high - value]]
                ax.errorbar([x], [value], yerr=err, fmt="o", color=color, capsize=3, ms=5,
                            label=None if shown else label)
                shown = True
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(rows)), [r.label for r in rows])
    ax.set_ylabel(f"Kendall τ with {metric}")
    ax.set_title(f"{title}: how each method ranks the evaluated archs")
    ax.legend(loc="best", fontsize=9)
    return fig


@styled
def tradeoff_figure(space: pd.DataFrame, front: tuple[np.ndarray, np.ndarray], derived: pd.DataFrame, cost: str,
                    metric: str, title: str) -> Figure:
    """SNAS's derived archs (one colour per lambda) on the space's accuracy-cost plane, with the ground truth's
    Pareto front."""
    fig = Figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(space[cost], space["truth"], s=3, color="lightgray", alpha=0.5, label="every arch of the space",
               rasterized=True)
    ax.step(front[0], front[1], where="post", color="black", linewidth=1.2, label="Pareto front (ground truth)")
    lambdas = sorted(derived["lambda"].unique())
    for value, color in zip(lambdas, _colors(len(lambdas))):
        part = derived[derived["lambda"] == value]
        ax.scatter(part[cost], part["truth"], s=60, color=color, edgecolors="black", zorder=3,
                   label=f"SNAS derived, λ = {value:g} ({len(part)} seed{'s' if len(part) > 1 else ''})")
    low = np.nanpercentile(space["truth"], 5)
    ax.set_ylim(min(low, np.nanmin(derived["truth"]) - 1), np.nanmax(space["truth"]) + 1)
    ax.set_xlabel(f"{cost} (benchmark skeleton)")
    ax.set_ylabel(f"true accuracy (%, {metric})")
    ax.set_title(f"{title}: SNAS's resource penalty λ·E[{cost}] against the accuracy-cost front")
    ax.legend(loc="lower right", fontsize=9)
    return fig
