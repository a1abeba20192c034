"""Columns ranked against columns: the engine of the multi-score, multi-truth audit and of `wsnas benchmarks
correlate` (no torch).

A PairGrid holds, for every (row, column) pair, Kendall tau-b and Spearman rho with 95% percentile-bootstrap
intervals and the number of archs both columns know (pairwise complete: an arch missing one value, e.g. a seed
the benchmark did not run, is left out of that pair only). An audit fills it from its per-pair summaries (scores x
truths); correlate computes it over a space's truth columns (columns x columns). Both print it and draw it as a
heat map (wsnas.analysis.plots.pairs) the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from wsnas.analysis.metrics import MIN_ARCHS, kendall_tau, spearman_rho, undefined_interval, with_ci

PAIR_STATS = {"kendall": kendall_tau, "spearman": spearman_rho}
ALPHA = 0.05


@dataclass
class PairGrid:
    """Kendall and Spearman (with intervals) of every (row, column) pair; `symmetric` when rows = columns and
    only one of (a, b) and (b, a) is stored."""

    rows: list[str]
    cols: list[str]
    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    symmetric: bool = False

    def cell(self, a: str, b: str) -> dict[str, Any] | None:
        """{"n", "kendall": {"value", "ci_low", "ci_high"}, "spearman": ...} of (a, b), None when not computed."""
        found = self.cells.get((a, b))
        if found is None and self.symmetric:
            found = self.cells.get((b, a))
        return found

    def records(self) -> list[dict[str, Any]]:
        """One flat row per stored pair: a, b, n, kendall, kendall_ci_low, kendall_ci_high, spearman, ..."""
        out = []
        for (a, b), cell in self.cells.items():
            row: dict[str, Any] = {"a": a, "b": b, "n": cell["n"]}
            for name in PAIR_STATS:
                entry = cell[name]
                row.update({name: entry["value"], f"{name}_ci_low": entry["ci_low"],
                            f"{name}_ci_high": entry["ci_high"]})
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "cols": self.cols, "symmetric": self.symmetric,
                "pairs": [{"a": a, "b": b, **cell} for (a, b), cell in self.cells.items()]}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "PairGrid":
        cells = {(p["a"], p["b"]): {k: v for k, v in p.items() if k not in ("a", "b")} for p in doc["pairs"]}
        return cls(list(doc["rows"]), list(doc["cols"]), cells, bool(doc.get("symmetric")))


def pair_cell(x: Any, y: Any, n_boot: int, seed: int) -> dict[str, Any]:
    """Kendall and Spearman of x against y with intervals, over the entries where both are finite."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    known = np.isfinite(x) & np.isfinite(y)
    n = int(known.sum())
    cell: dict[str, Any] = {"n": n}
    for name, fn in PAIR_STATS.items():
        cell[name] = (with_ci(fn, x[known], y[known], n_boot, ALPHA, seed) if n >= MIN_ARCHS else
                      undefined_interval(f"only {n} arch(s) have both values; a correlation needs {MIN_ARCHS}"))
    return cell


def correlation_grid(frame: pd.DataFrame, rows: Sequence[str], cols: Sequence[str], *, n_boot: int, seed: int,
                     symmetric: bool = False, progress: bool = False) -> PairGrid:
    """pair_cell for every (row, col) pair of `frame`'s columns; with `symmetric` (rows = cols) each unordered
    pair once, a column against itself included (its n is the archs that know it)."""
    grid = PairGrid(list(rows), list(cols), symmetric=symmetric)
    order = {c: i for i, c in enumerate(cols)}
    pairs = [(a, b) for i, a in enumerate(rows) for b in cols if not symmetric or order[b] >= i]
    for a, b in tqdm(pairs, desc="pairs", unit="pair", disable=not progress):
        grid.cells[(a, b)] = pair_cell(frame[a].to_numpy(), frame[b].to_numpy(), n_boot, seed)
    return grid


def _ci_text(entry: dict[str, Any] | None) -> str:
    if entry is None or entry.get("value") is None or np.isnan(entry["value"]):
        return "-"
    if entry.get("ci_low") is None or np.isnan(entry["ci_low"]):
        return f"{entry['value']:+.3f}"
    return f"{entry['value']:+.3f} [{entry['ci_low']:+.3f}, {entry['ci_high']:+.3f}]"


def format_matrix(grid: PairGrid, stat: str = "kendall", corner: str = "") -> str:
    """The grid as a text matrix of `stat` with its interval: rows down, columns across."""
    width = max([26] + [len(c) + 2 for c in grid.cols])
    first = max([len(corner)] + [len(r) for r in grid.rows]) + 2
    lines = [f"  {corner:<{first}}" + "".join(f"{c:>{width}}" for c in grid.cols)]
    for r in grid.rows:
        lines.append(f"  {r:<{first}}" + "".join(f"{_ci_text((grid.cell(r, c) or {}).get(stat)):>{width}}"
                                               for c in grid.cols))
    return "\n".join(line.rstrip() for line in lines)


def format_pairs(grid: PairGrid, skip_self: bool = True) -> str:
    """The grid as one line per pair (a, b, n, Kendall and Spearman with intervals), strongest Kendall first."""
    rows = [r for r in grid.records() if not (skip_self and r["a"] == r["b"])]
    rows.sort(key=lambda r: -abs(r["kendall"]) if np.isfinite(r["kendall"]) else 2.0)
    wa = max([1] + [len(r["a"]) for r in rows])
    wb = max([1] + [len(r["b"]) for r in rows])
    lines = [f"  {'a':<{wa}}  {'b':<{wb}}  {'n':>6}  {'kendall [95% CI]':<26}  spearman [95% CI]"]
    for r in rows:
        cell = grid.cell(r["a"], r["b"]) or {}
        lines.append(f"  {r['a']:<{wa}}  {r['b']:<{wb}}  {r['n']:>6}  {_ci_text(cell.get('kendall')):<26}  "
                     f"{_ci_text(cell.get('spearman'))}")
    return "\n".join(line.rstrip() for line in lines)


def grid_from_results(results: Iterable[dict[str, Any]], scores: Sequence[str], truths: Sequence[str]) -> PairGrid:
    """An audit's scores x truths grid from its per-pair summaries (entries with "score" and "truth")."""
    grid = PairGrid(list(scores), list(truths))
    for r in results:
        grid.cells[(r["score"], r["truth"])] = {"n": r["n_archs"], **{name: r[name] for name in PAIR_STATS}}
    return grid
