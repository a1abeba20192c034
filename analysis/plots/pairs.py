"""Figures of column pairs: the heat map of a PairGrid (an audit's scores x truths, a benchmark's truth columns x
truth columns) and the exact top-k curves of an audit's pairs (matplotlib's Agg canvas, no torch)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from wsnas.analysis.pair_grid import PairGrid
from wsnas.analysis.plots.style import styled
from wsnas.analysis.plots.ticks import count_log_xaxis

_FULL_TEXT_CELLS = 8  # up to this many rows and columns a cell shows the interval too


def _value(grid: PairGrid, a: str, b: str, stat: str, key: str = "value") -> float:
    cell = grid.cell(a, b)
    value = None if cell is None else cell[stat].get(key)
    return math.nan if value is None else float(value)


@styled
def heatmap_figure(grid: PairGrid, title: str, stat: str = "kendall", row_label: str = "",
                   col_label: str = "", names: dict[str, str] | None = None) -> Figure:
    """`stat` of every pair as colour (-1 red .. +1 blue) with the value, and up to 8x8 cells its 95% CI, written
    in each cell; a symmetric grid shows its lower triangle. `names` relabels rows and columns for display."""
    rows, cols = grid.rows, grid.cols
    values = np.array([[_value(grid, a, b, stat) for b in cols] for a in rows])
    if grid.symmetric:
        values[np.triu_indices(len(rows), k=1)] = np.nan
    full = max(len(rows), len(cols)) <= _FULL_TEXT_CELLS
    cell_w, cell_h = (1.55, 0.85) if full else (0.74, 0.48)
    fig = Figure(figsize=(max(6.5, 2.6 + cell_w * len(cols)), max(3.2, 1.8 + cell_h * len(rows))),
                 layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    size = 10 if full else (9 if len(cols) <= 14 else 8)
    symbol = {"kendall": "τ", "spearman": "ρ"}.get(stat, stat)
    for (i, j), value in np.ndenumerate(values):
        if math.isnan(value):
            if not (grid.symmetric and j > i):
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=size, color="0.4")
            continue
        low, high = _value(grid, rows[i], cols[j], stat, "ci_low"), _value(grid, rows[i], cols[j], stat, "ci_high")
        text = f"{value:+.3f}" if full else f"{value:+.2f}"
        if full and not math.isnan(low):
            text += f"\n[{low:+.2f}, {high:+.2f}]"
        ax.text(j, i, text, ha="center", va="center", fontsize=size, color="white" if abs(value) > 0.6 else "black")
    shown = names or {}
    ax.set_xticks(range(len(cols)), [shown.get(c, c) for c in cols], rotation=30 if full else 60, ha="right",
                  rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), [shown.get(r, r) for r in rows])
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label=f"{stat.capitalize()} {symbol}", shrink=0.9)
    interval = "95% bootstrap CI below each value" if full else "intervals in the table"
    ax.set_title(f"{title}\n{stat.capitalize()} {symbol} of every pair ({interval})")
    return fig


@dataclass
class TopkPanel:
    """One pair's exact top-k curves, in the truth's units: best truth among the score's top k, the expected best
    of k random archs, and the best of all (oracle)."""

    label: str
    k: np.ndarray
    supernet_best: np.ndarray
    random_best: np.ndarray
    oracle: float
    truth_label: str
    lower_is_better: bool


@styled
def topk_curve_figure(panels: Sequence[TopkPanel], title: str, cols: int = 3) -> Figure:
    """One panel per pair, `cols` a row: best truth in the score's top k against a random pick of k and the
    oracle."""
    cols = min(cols, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5.4 * cols, 4.4 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, p in zip(axes, panels):
        ax.plot(p.k, p.supernet_best, marker="o", ms=4, color="tab:blue", label="score's top k")
        ax.plot(p.k, p.random_best, marker="x", ms=4, color="tab:gray", label="random k (exact expectation)")
        ax.axhline(p.oracle, ls="--", color="black", label="oracle (best of all)")
        count_log_xaxis(ax)
        if p.lower_is_better:
            ax.invert_yaxis()
        ax.set_xlabel("k (archs picked, log scale)")
        better = "\n(axis reversed: lower is better)" if p.lower_is_better else ""
        ax.set_ylabel(f"best {p.truth_label} among the k{better}")
        ax.set_title(p.label, fontsize=11)
        ax.legend(loc="lower right", fontsize=9)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: picking the top k")
    return fig
