"""Rank correlation (95% CIs) against a setting, with the mean supernet accuracy on a twin axis (no torch): the
shared axes of the epochs and fine-tuning figures."""
from __future__ import annotations

from typing import Any, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from wsnas.analysis.plots.style import column, floats, yerr


def correlation_lines(ax: Axes, x: Sequence[float], rows: Sequence[dict[str, Any]], prefix: str = "") -> None:
    """Kendall and Spearman with 95% CI error bars against x."""
    for name, symbol, color, marker in (("kendall", "τ", "tab:blue", "o"), ("spearman", "ρ", "tab:green", "s")):
        values = column(rows, f"{prefix}{name}")
        if all(v is None for v in values):
            continue
        lows, highs = column(rows, f"{prefix}{name}_ci_low"), column(rows, f"{prefix}{name}_ci_high")
        err = None if all(v is None for v in lows) else yerr(values, lows, highs)
        ax.errorbar(x, floats(values), yerr=err, marker=marker, color=color, capsize=4,
                    label=f"Kendall {symbol}" if name == "kendall" else f"Spearman {symbol}")


def accuracy_twin(fig: Figure, ax: Axes, x: Sequence[float], rows: list[dict]) -> None:
    """Mean supernet accuracy on a right-hand axis of `ax`, with one legend below for both axes."""
    twin = ax.twinx()
    twin.plot(x, column(rows, "mean_supernet_acc"), marker="D", color="tab:orange", lw=1.5, alpha=0.8,
              label="mean supernet accuracy (%, right axis)")
    twin.set_ylabel("mean supernet accuracy (%)", color="tab:orange")
    twin.grid(False)
    legend_below(fig, ax, twin)


def legend_below(fig: Figure, ax: Axes, twin: Axes) -> None:
    """One legend for an axis and its twin, below the plot."""
    handles, labels = ax.get_legend_handles_labels()
    more_h, more_l = twin.get_legend_handles_labels()
    fig.legend(handles + more_h, labels + more_l, loc="outside lower center", ncols=3)
