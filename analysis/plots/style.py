"""The report figures' shared style and helpers (matplotlib's Agg canvas, no pyplot state, no torch).

Every figure function takes plain data (a study's JSON document, or arrays) and returns a matplotlib Figure
drawn under `styled`; `save` writes it as a PNG. Fonts are at least 10 pt and figures use a tight layout.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

DPI = 130
STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13, "axes.grid": True,
         "grid.alpha": 0.3}
BASELINE_COLORS = ("tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")  # free baselines


def styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a figure function under the report's rc style."""
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = draw.__name__, draw.__doc__
    return wrapper


def save(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as a PNG at DPI (tight bounding box)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", format="png")
    return path


def ci_text(symbol: str, value: float | None, low: float | None, high: float | None) -> str:
    """"τ = +0.123 [+0.010, +0.230]"; the interval left out where unknown, "τ undefined" without a value."""
    if as_number(value) is None:
        return f"{symbol} undefined"
    if as_number(low) is None or as_number(high) is None:
        return f"{symbol} = {value:+.3f}"
    return f"{symbol} = {value:+.3f} [{low:+.3f}, {high:+.3f}]"


def yerr(values: Sequence[float | None], lows: Sequence[float | None], highs: Sequence[float | None]) -> np.ndarray:
    """Asymmetric error bars from CI bounds (0 where undefined)."""
    v, lo, hi = (np.array([np.nan if x is None else x for x in seq], dtype=float) for seq in (values, lows, highs))
    return np.nan_to_num(np.vstack([v - lo, hi - v]))


def column(rows: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """The value of `key` in each row (None where absent)."""
    return [r.get(key) for r in rows]


def floats(values: Sequence[Any]) -> np.ndarray:
    """`values` as floats, None as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def as_number(value: Any) -> float | None:
    """A finite number from a plain value or a {"value"}/{"mean"} entry; None otherwise."""
    if isinstance(value, dict):
        value = value.get("value", value.get("mean"))
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None

