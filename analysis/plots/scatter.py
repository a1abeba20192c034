"""Scatter figures of scores against the ground truth, with rank correlations and the seed-noise ceiling (no
torch): the report of a run, a replicate group and an audit."""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from wsnas.analysis.plots.style import as_number, ci_text, styled


_TITLE_CHARS = 44  # a panel title's lines wrap here: 5 inches of 11 pt text with room to spare between panels


@dataclass
class ScatterPanel:
    """One (epoch, BN policy) group: true and supernet accuracy per arch, and its metrics if analysed."""

    label: str
    truth: np.ndarray
    supernet: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)  # a metrics.json result (kendall, spearman, ceiling)
    xlabel: str | None = None  # default: true accuracy (%, <truth>)
    ylabel: str | None = None  # default: supernet accuracy (%)
    invert_x: bool = False  # lower is better: the axis runs from worse to better all the same
    invert_y: bool = False



def ceiling_kendall(ceiling: Any) -> dict[str, float]:
    """The Kendall tau(s) of a ceiling: {comparison: tau}, {} when there is none; the bound for any predictor
    first.

    Accepts analysis.ceiling.seed_ceiling's result ("reliability" with a kendall, "seed_vs_rest"/"seed_vs_seed"
    with kendall means), a {"kendall": ...} entry or a bare number.
    """
    if isinstance(ceiling, dict) and any(k in ceiling for k in ("seed_vs_rest", "seed_vs_seed")):
        found = {"bound for any predictor": as_number((ceiling.get("reliability") or {}).get("kendall"))}
        found.update({name.replace("_", " "): as_number(ceiling.get(name, {}).get("kendall"))
                      for name in ("seed_vs_rest", "seed_vs_seed") if isinstance(ceiling.get(name), dict)})
    elif isinstance(ceiling, dict):
        found = {"": as_number(ceiling.get("kendall"))}
    else:
        found = {"": as_number(ceiling)}
    return {name: value for name, value in found.items() if value is not None}


@styled
def scatter_figure(panels: Sequence[ScatterPanel], truth_name: str, title: str,
                   what: str = "supernet vs true accuracy", cols: int = 3) -> Figure:
    """Supernet accuracy against true accuracy, one panel per (epoch, BN policy), tau/rho with CIs inside, `cols`
    panels a row (a panel may name its axes and reverse those where lower is better)."""
    cols = min(cols, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5 * cols, 4.6 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels):
        ax.scatter(panel.truth, panel.supernet, s=16, alpha=0.6, color="tab:blue", edgecolors="none")
        lines = [textwrap.fill(f"{panel.label} ({panel.truth.size} archs)", _TITLE_CHARS)]
        for name, symbol in (("kendall", "τ"), ("spearman", "ρ")):
            entry = panel.stats.get(name)
            if entry:
                lines.append(ci_text(symbol, as_number(entry), entry.get("ci_low"), entry.get("ci_high")))
        ceiling = ceiling_kendall(panel.stats.get("ceiling"))
        if ceiling:
            name, tau = next(iter(ceiling.items()))
            lines.append(f"ceiling τ = {tau:+.3f}" + (f" ({name})" if name else ""))
        ax.set_title("\n".join(lines), fontsize=11)
        ax.set_xlabel(panel.xlabel or f"true accuracy (%, {truth_name})")
        ax.set_ylabel(panel.ylabel or "supernet accuracy (%)")
        if panel.invert_x:
            ax.invert_xaxis()
        if panel.invert_y:
            ax.invert_yaxis()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: {what}")
    return fig

