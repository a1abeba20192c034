"""The figure of a result against its free baselines (matplotlib's Agg canvas, no torch).

Left: Kendall tau with the truth (95% CI) of the supernet (a replicate group: the mean over replicates with its
replicate-level CI, seeds random) and of each baseline on the same archs. Right: the paired difference supernet minus baseline with its
95% CI and p-value, green where the supernet is better, red where the baseline is, grey where the interval covers 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.patches
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from wsnas.analysis.inference import p_text
from wsnas.analysis.plots.style import as_number, styled

SUPERNET_COLOR, BASELINE_COLOR = "tab:blue", "0.25"
BETTER, WORSE, TIED = "tab:green", "tab:red", "0.55"  # the supernet better, the baseline better, neither
_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}


@dataclass(frozen=True)
class BaselineRow:
    """One baseline of a result: its display name, its Kendall entry and the paired difference of Kendall."""

    name: str
    kendall: dict[str, Any]
    difference: dict[str, Any]  # paired_difference's "kendall": difference, ci_low, ci_high, p_value


def _interval(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "undefined"
    if low is None or high is None:
        return f"{value:+.3f}"
    return f"{value:+.3f} [{low:+.3f}, {high:+.3f}]"


def _xerr(value: float, low: float | None, high: float | None) -> list[list[float]] | None:
    return None if low is None or high is None else [[value - low], [high - value]]


def _point(ax: Axes, y: float, value: float | None, low: float | None, high: float | None, color: str,
           marker: str, suffix: str = "") -> None:
    """A value with its 95% CI as an error bar at height y, written above it ('undefined' without a value)."""
    if value is None:
        ax.text(0, y, "undefined", ha="center", va="center", fontsize=10, color=color)
        return
    ax.errorbar(value, y, xerr=_xerr(value, low, high), fmt=marker, ms=8, capsize=5, color=color)
    ax.annotate(_interval(value, low, high) + suffix, (value, y), xytext=(0, 10), textcoords="offset points",
                ha="center", fontsize=10, color=color, bbox=_LABEL_BOX)


def _color(difference: dict[str, Any]) -> str:
    low, high = as_number(difference.get("ci_low")), as_number(difference.get("ci_high"))
    if low is not None and low > 0:
        return BETTER
    if high is not None and high < 0:
        return WORSE
    return TIED


@styled
def baselines_figure(supernet: dict[str, Any], subject: str, rows: Sequence[BaselineRow], title: str,
                     detail: str = "") -> Figure:
    """Kendall tau (95% CI) of `subject` and each baseline, and the paired difference subject minus baseline;
    `detail` goes under the subject's name (e.g. how many replicates its Kendall is the mean of)."""
    n = len(rows) + 1
    fig = Figure(figsize=(13, 1.9 + 0.62 * n), layout="constrained")
    tau_ax, diff_ax = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.15])
    y = np.arange(n)[::-1]  # the subject on top
    entries = [(subject + (f"\n({detail})" if detail else ""), supernet, SUPERNET_COLOR)]
    entries += [(r.name, r.kendall, BASELINE_COLOR) for r in rows]
    for yi, (_, entry, color) in zip(y, entries):
        _point(tau_ax, yi, *(as_number(entry.get(k)) for k in ("value", "ci_low", "ci_high")), color, "o")
    reference = as_number(supernet.get("value"))
    if reference is not None:
        tau_ax.axvline(reference, ls=":", lw=1.2, color=SUPERNET_COLOR)
    tau_ax.axvline(0, color="black", lw=0.8)
    tau_ax.set_yticks(y, [name for name, _, _ in entries])
    tau_ax.set_ylim(-0.7, n - 0.3)
    tau_ax.set_xlabel("Kendall τ with the ground truth (95% CI)")
    tau_ax.set_title("each ranking against the truth")
    tau_ax.margins(x=0.2)

    for yi, row in zip(y[1:], rows):
        d, p = row.difference, as_number(row.difference.get("p_value"))
        _point(diff_ax, yi, *(as_number(d.get(k)) for k in ("difference", "ci_low", "ci_high")), _color(d), "s",
               f", {p_text(p)}" if p is not None else "")
    diff_ax.axvline(0, color="black", lw=1)
    diff_ax.text(0.5, y[0], f"{subject} minus each baseline below", transform=diff_ax.get_yaxis_transform(),
                 ha="center", va="center", fontsize=10, color="0.35", style="italic")
    diff_ax.set_xlabel(f"Kendall τ of {subject} minus the baseline's (paired over the same archs, 95% CI)")
    diff_ax.set_title("paired difference")
    diff_ax.margins(x=0.25)
    handles = [matplotlib.patches.Patch(color=BETTER, label=f"{subject} better (CI above 0)"),
               matplotlib.patches.Patch(color=WORSE, label="baseline better (CI below 0)"),
               matplotlib.patches.Patch(color=TIED, label="not distinguishable (CI covers 0)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=10)
    fig.suptitle(title)
    return fig
