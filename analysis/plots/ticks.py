"""A log axis of counts whose tick labels never overlap (no torch): the k axis of the top-k figures.

The ticks are the densest ladder that fits, chosen when the figure is drawn (so at the axis' final width):
1-2-5 in every decade, else 1-3, else the decades, else every second decade, and so on; a ladder fits when each
label clears its neighbours.
"""
from __future__ import annotations

import math

import matplotlib
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter, Locator, NullFormatter

_LADDERS = ((1, 2, 5), (1, 3), (1,))  # mantissas of the ticks in a decade, densest first
_EM_PER_CHAR = 0.65  # a digit of the default sans-serif font is 0.64 em wide; rounded up so estimates never fall short
_PAD_PT = 6.0  # the least room between two labels, in points


def count_text(value: float) -> str:
    """A count as a tick label: 1, 20, 5000, 100000 (never 1e+03)."""
    return f"{int(round(value))}"


class CountLogLocator(Locator):
    """The densest readable ladder of ticks on a log axis of counts (see the module docstring)."""

    def __init__(self, fontsize_pt: float) -> None:
        self.fontsize_pt = fontsize_pt

    def __call__(self) -> list[float]:
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> list[int]:
        low, high = sorted((max(vmin, 1.0), max(vmax, 1.0)))
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        ladders = [(m, 1) for m in _LADDERS] + [((1,), step) for step in range(2, last - first + 2)]
        ticks: list[int] = []
        for mantissas, step in ladders:
            ticks = sorted(m * 10 ** e for e in range(first, last + 1, step) for m in mantissas
                           if low <= m * 10 ** e <= high)
            if self._fits(ticks):
                break
        return ticks

    def _fits(self, ticks: list[int]) -> bool:
        """Whether every label of `ticks` clears its neighbours at the axis' present width."""
        axes = self.axis.axes
        points = axes.figure.dpi / 72
        centres = [axes.transData.transform((t, 1))[0] for t in ticks]
        halves = [len(count_text(t)) * _EM_PER_CHAR * self.fontsize_pt * points / 2 for t in ticks]
        return all(abs(c2 - c1) >= h1 + h2 + _PAD_PT * points
                   for c1, c2, h1, h2 in zip(centres, centres[1:], halves, halves[1:]))


def count_log_xaxis(ax: Axes) -> None:
    """Put `ax`'s x axis on a log scale of counts with readable, non-overlapping 1-2-5 tick labels."""
    ax.set_xscale("log")
    size = FontProperties(size=matplotlib.rcParams["xtick.labelsize"]).get_size_in_points()
    ax.xaxis.set_major_locator(CountLogLocator(size))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: count_text(value)))
    ax.xaxis.set_minor_formatter(NullFormatter())
