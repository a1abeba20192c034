"""Forest plots of statistics against the band of an unbiased null scorer (no torch): the shared panel of the
size-bias and operator-bias figures."""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib.lines
import matplotlib.patches
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from wsnas.analysis.plots.style import yerr

NULL_COLOR, FLAG_COLOR, PLAIN_COLOR = "0.55", "tab:red", "tab:blue"


def null_forest(fig: Figure, ax: Axes, rows: Sequence[dict[str, Any]], labels: Sequence[str], fmt: str,
                xlabel: str, title: str) -> None:
    """One line per statistic: the null's simultaneous band (light grey), its pointwise 95% band (darker),
    its median (tick), and the observed value with its 95% CI, red where it lies outside the band; each
    replicate's value as a small diamond below. The legend goes below the figure."""
    y = np.arange(len(rows))[::-1]
    several = False
    for yi, row in zip(y, rows):
        ax.barh(yi, row["null_sim_high"] - row["null_sim_low"], left=row["null_sim_low"], height=0.6,
                color=NULL_COLOR, alpha=0.25, lw=0)
        ax.barh(yi, row["null_high"] - row["null_low"], left=row["null_low"], height=0.6, color=NULL_COLOR,
                alpha=0.35, lw=0)
        ax.plot([row["null_median"]] * 2, [yi - 0.3, yi + 0.3], color="0.3", lw=1.5)
        color = FLAG_COLOR if row["outside"] else PLAIN_COLOR
        err = yerr([row["value"]], [row.get("ci_low")], [row.get("ci_high")])
        ax.errorbar(row["value"], yi, xerr=err, fmt="o", color=color, capsize=4, ms=7, zorder=3)
        reps = [r["value"] for r in row.get("replicates", [])]
        if len(reps) > 1:
            several = True
            ax.scatter(reps, [yi - 0.2] * len(reps), marker="D", s=18, facecolors="white", edgecolors=color,
                       zorder=3)
        ax.annotate(f"{row['value']:{fmt}}", (row["value"], yi), xytext=(0, 9), textcoords="offset points",
                    ha="center", fontsize=10, color=color)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    handles = [matplotlib.patches.Patch(color=NULL_COLOR, alpha=0.25, label="unbiased scorer: 95% band (all at once)"),
               matplotlib.patches.Patch(color=NULL_COLOR, alpha=0.6, label="unbiased scorer: 95% band (each alone)"),
               matplotlib.lines.Line2D([], [], color=PLAIN_COLOR, marker="o", ls="-", label="supernet, 95% CI: inside"),
               matplotlib.lines.Line2D([], [], color=FLAG_COLOR, marker="o", ls="-", label="outside the band: a finding")]
    if several:
        handles.append(matplotlib.lines.Line2D([], [], color="0.3", marker="D", ms=5, mfc="white", ls="",
                                               label="one replicate"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles) if several else 4, fontsize=9)



def replicates_text(cfg: dict[str, Any]) -> str:
    """"mean of R replicates, " for a study of several replicates, "" for one."""
    reps = cfg.get("replicates", 1)
    return f"mean of {reps} replicates, " if reps > 1 else ""

