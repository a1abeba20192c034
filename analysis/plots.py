"""Figures of the rank-disorder report (matplotlib's Agg canvas, no pyplot state, no torch).

Every function takes plain data (a study's JSON document, or arrays) and returns a matplotlib Figure;
`save` writes it as a PNG. Fonts are at least 10 pt and figures use a tight layout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

DPI = 130
STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13, "axes.grid": True,
         "grid.alpha": 0.3}
MODE_COLORS = {"optimistic": "tab:blue", "random": "tab:gray"}
MIN_GROUP = 3  # operator groups with fewer archs are drawn hollow


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


def _yerr(values: Sequence[float | None], lows: Sequence[float | None], highs: Sequence[float | None]) -> np.ndarray:
    """Asymmetric error bars from CI bounds (0 where undefined)."""
    v, lo, hi = (np.array([np.nan if x is None else x for x in seq], dtype=float) for seq in (values, lows, highs))
    return np.nan_to_num(np.vstack([v - lo, hi - v]))


def _column(rows: Sequence[dict[str, Any]], key: str) -> list[Any]:
    return [r.get(key) for r in rows]


def _floats(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# ------------------------------------------------------------------------------------------------ scatter

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


def as_number(value: Any) -> float | None:
    """A finite number from a plain value or a {"value"}/{"mean"} entry; None otherwise."""
    if isinstance(value, dict):
        value = value.get("value", value.get("mean"))
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def ceiling_kendall(ceiling: Any) -> dict[str, float]:
    """The Kendall tau(s) of a seed-noise ceiling: {comparison: tau}, {} when there is none.

    Accepts analysis.ceiling.seed_ceiling's result ("seed_vs_rest"/"seed_vs_seed" with kendall means), a
    {"kendall": ...} entry or a bare number.
    """
    if isinstance(ceiling, dict) and any(k in ceiling for k in ("seed_vs_rest", "seed_vs_seed")):
        found = {name.replace("_", " "): as_number(ceiling.get(name, {}).get("kendall"))
                 for name in ("seed_vs_rest", "seed_vs_seed") if isinstance(ceiling.get(name), dict)}
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
        lines = [f"{panel.label} ({panel.truth.size} archs)"]
        for name, symbol in (("kendall", "τ"), ("spearman", "ρ")):
            entry = panel.stats.get(name)
            if entry:
                lines.append(ci_text(symbol, as_number(entry), entry.get("ci_low"), entry.get("ci_high")))
        ceiling = ceiling_kendall(panel.stats.get("ceiling"))
        if ceiling:
            name, tau = next(iter(ceiling.items()))
            lines.append(f"seed-noise ceiling τ = {tau:+.3f}" + (f" ({name})" if name else ""))
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


# ------------------------------------------------------------------------------------------------- epochs

def _correlation_lines(ax: Axes, x: Sequence[float], rows: Sequence[dict[str, Any]], prefix: str = "") -> None:
    """Kendall and Spearman with 95% CI error bars against x."""
    for name, symbol, color, marker in (("kendall", "τ", "tab:blue", "o"), ("spearman", "ρ", "tab:green", "s")):
        values = _column(rows, f"{prefix}{name}")
        if all(v is None for v in values):
            continue
        lows, highs = _column(rows, f"{prefix}{name}_ci_low"), _column(rows, f"{prefix}{name}_ci_high")
        err = None if all(v is None for v in lows) else _yerr(values, lows, highs)
        ax.errorbar(x, _floats(values), yerr=err, marker=marker, color=color, capsize=4,
                    label=f"Kendall {symbol}" if name == "kendall" else f"Spearman {symbol}")


def _accuracy_twin(fig: Figure, ax: Axes, x: Sequence[float], rows: list[dict]) -> None:
    """Mean supernet accuracy on a right-hand axis of `ax`, with one legend below for both axes."""
    twin = ax.twinx()
    twin.plot(x, _column(rows, "mean_supernet_acc"), marker="D", color="tab:orange", lw=1.5, alpha=0.8,
              label="mean supernet accuracy (%, right axis)")
    twin.set_ylabel("mean supernet accuracy (%)", color="tab:orange")
    twin.grid(False)
    _legend_below(fig, ax, twin)


def _legend_below(fig: Figure, ax: Axes, twin: Axes) -> None:
    """One legend for an axis and its twin, below the plot."""
    handles, labels = ax.get_legend_handles_labels()
    more_h, more_l = twin.get_legend_handles_labels()
    fig.legend(handles + more_h, labels + more_l, loc="outside lower center", ncols=3)


@styled
def epochs_figure(doc: dict[str, Any], title: str, ceiling: dict[str, float] | None = None) -> Figure:
    """Rank correlation with the ground truth (95% CIs) against training epochs, mean accuracy on a twin axis.

    `ceiling` ({comparison: Kendall tau}, see ceiling_kendall) adds the seed-noise ceiling as dotted lines.
    """
    rows = doc["rows"]
    epochs = _column(rows, "epoch")
    fig = Figure(figsize=(8.5, 4.8), layout="constrained")
    ax = fig.subplots()
    _correlation_lines(ax, epochs, rows)
    for (name, tau), color in zip((ceiling or {}).items(), ("tab:brown", "tab:olive")):
        ax.axhline(tau, ls=":", lw=2, color=color, label=f"seed-noise ceiling τ ({name})".replace(" ()", ""))
    prev = [(e, r.get("prev_kendall")) for e, r in zip(epochs, rows) if r.get("prev_kendall") is not None]
    if prev:
        ax.plot(*zip(*prev), ls="--", marker="^", color="tab:purple", label="Kendall τ vs previous checkpoint")
    ax.set_xlabel("supernet training epoch")
    ax.set_ylabel("rank correlation (95% CI)")
    _accuracy_twin(fig, ax, epochs, rows)
    ax.set_xticks(epochs)
    ax.set_title(f"{title}: ranking vs training length ({doc['truth']}, n = {rows[-1]['n_archs']} archs)")
    return fig


# --------------------------------------------------------------------------------------------------- topk

@styled
def topk_figure(doc: dict[str, Any], title: str) -> Figure:
    """Best true accuracy in the supernet's top k against a random pick and the oracle; top-10 hit rates."""
    curve, hits, cfg = doc["curve"], doc.get("hits", []), doc["config"]
    k = _column(curve, "k")
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax, bars = fig.subplots(1, 2, width_ratios=[2, 1])
    for prefix, label, color in (("supernet_best", "supernet top-k", "tab:blue"),
                                 ("random_expected_best", "random k (exact expectation)", "tab:gray")):
        ax.plot(k, _column(curve, f"{prefix}_mean"), marker="o", color=color, label=f"{label}, mean")
        ax.fill_between(k, _column(curve, f"{prefix}_p5"), _column(curve, f"{prefix}_p95"), color=color,
                        alpha=0.2, label=f"{label}, 5-95% of draws")
    ax.plot(k, _column(curve, "oracle_best_mean"), ls="--", color="black", label="oracle (best in draw), mean")
    ax.set_xscale("log")
    ax.set_xticks([t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= max(k)])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("k (archs picked from a draw, log scale)")
    ax.set_ylabel(f"best true accuracy among the k (%, {doc['truth']})")
    ax.legend(loc="lower right")
    ax.set_title(f"top-k over {cfg['draws']} draws of {cfg['draw_size']} archs")
    if hits:
        x = np.arange(len(hits))
        for shift, key, color, label in ((-0.2, "supernet_rate", "tab:blue", "supernet"),
                                         (0.2, "random_rate", "tab:gray", "random")):
            drawn = bars.bar(x + shift, [100 * h[key] for h in hits], width=0.4, color=color, label=label)
            bars.bar_label(drawn, fmt="%.0f%%", fontsize=10)
        bars.set_xticks(x, [f"holds a {h['target']}\narch of the space" for h in hits])
        bars.set_ylim(0, 110)
        bars.set_ylabel("share of draws (%)")
        bars.set_title(f"does the top-{hits[0]['k']} hold a top arch?")
        bars.legend(loc="upper right")
    else:
        bars.set_visible(False)
    fig.suptitle(f"{title}: picking the top k")
    return fig


# ------------------------------------------------------------------------------------------------ pruning

@styled
def pruning_figure(doc: dict[str, Any], title: str) -> Figure:
    """Search-space pruning by the supernet (optimistic) against random pruning, by pruned fraction."""
    fig = Figure(figsize=(14, 4.4), layout="constrained")
    pool_ax, top_ax, tau_ax = fig.subplots(1, 3)
    modes = sorted({r["mode"] for r in doc["rows"]})
    for mode in modes:
        rows = sorted((r for r in doc["rows"] if r["mode"] == mode), key=lambda r: r["fraction"])
        p = _column(rows, "fraction")
        color = MODE_COLORS.get(mode)
        pool_ax.plot(p, _column(rows, "mean_truth"), marker="o", color=color, label=f"{mode} pruning")
        top_ax.plot(p, _column(rows, "supernet_top10_best"), marker="o", color=color,
                    label=f"{mode}: supernet top-10")
        top_ax.plot(p, _column(rows, "random_top10_expected"), ls="--", marker="x", color=color,
                    label=f"{mode}: random 10 (expected)")
        tau_ax.errorbar(p, _floats(_column(rows, "kendall")), capsize=4, marker="o", color=color, label=mode,
                        yerr=_yerr(_column(rows, "kendall"), _column(rows, "kendall_ci_low"),
                                   _column(rows, "kendall_ci_high")))
    fractions = sorted({r["fraction"] for r in doc["rows"]})
    for ax in (pool_ax, top_ax, tau_ax):
        ax.set_xlabel("fraction of the space pruned")
        ax.set_xticks(fractions)
        ax.legend(loc="best")
    pool_ax.set_ylabel("mean true accuracy (%)")
    pool_ax.set_title("mean of the remaining archs")
    top_ax.set_ylabel("best true accuracy of 10 picked (%)")
    top_ax.set_title("supernet top-10 vs random 10")
    tau_ax.set_ylabel("Kendall τ on the remaining pool (95% CI)")
    tau_ax.set_title("ranking on the remaining pool")
    fig.suptitle(f"{title}: search-space pruning ({doc['truth']})")
    return fig


# --------------------------------------------------------------------------------------------------- bias

def _triangle(ax: Axes, pairs: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Three nodes (parameters, truth, supernet) and the Kendall tau of each pair on its edge."""
    nodes = {"params": (0.5, 0.9), "truth": (0.06, 0.12), "supernet": (0.94, 0.12)}
    names = {"params": "parameters", "truth": "ground truth", "supernet": "supernet score"}
    for (a, b), row in pairs.items():
        if a not in nodes or b not in nodes:
            continue
        (x0, y0), (x1, y1) = nodes[a], nodes[b]
        value = row.get("kendall")
        width = 1 + 8 * abs(value) if value is not None else 1
        color = "tab:red" if value is not None and value < 0 else "tab:blue"
        ax.plot([x0, x1], [y0, y1], color=color, lw=width, alpha=0.6, solid_capstyle="round")
        text = ci_text("τ", value, row.get("kendall_ci_low"), row.get("kendall_ci_high")).replace(" [", "\n[")
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, text, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"})
    for key, (x, y) in nodes.items():
        ax.text(x, y, names[key], ha="center", va="center", fontsize=11, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": "lightyellow", "edgecolor": "0.3"})
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()


@styled
def bias_figure(doc: dict[str, Any], title: str) -> Figure:
    """The Kendall triangle parameters / ground truth / supernet, and every pair (FLOPs too) with 95% CIs."""
    rows = doc["rows"]
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    tri, bars = fig.subplots(1, 2, width_ratios=[1.1, 1])
    _triangle(tri, {(r["a"], r["b"]): r for r in rows})
    tri.set_title("Kendall τ between size, truth and supernet (95% CI)")
    labels = [f"{r['a']} vs {r['b']}" for r in rows]
    values = _floats(_column(rows, "kendall"))
    y = np.arange(len(rows))[::-1]
    bars.barh(y, np.nan_to_num(values), color=["tab:red" if v < 0 else "tab:blue" for v in np.nan_to_num(values)],
              xerr=_yerr(_column(rows, "kendall"), _column(rows, "kendall_ci_low"), _column(rows, "kendall_ci_high")),
              capsize=4, alpha=0.75)
    bars.set_yticks(y, labels)
    bars.axvline(0, color="black", lw=0.8)
    bars.set_xlim(-1, 1)
    bars.set_xlabel("Kendall τ (95% bootstrap CI)")
    bars.set_title(f"{doc['config'].get('n_archs', '?')} archs, epoch {doc['config'].get('epoch', '?')}")
    fig.suptitle(f"{title}: bias towards large models ({doc['truth']})")
    return fig


# ---------------------------------------------------------------------------------------------- operators

@styled
def operator_figure(doc: dict[str, Any], title: str) -> Figure:
    """Rank-percentile shift by op count per op, and per-edge op frequency in the two top-10% sets."""
    cfg = doc["config"]
    ops, edges = cfg["ops"], cfg["edges"]
    fig = Figure(figsize=(13, 5), layout="constrained")
    lines, heat = fig.subplots(1, 2, width_ratios=[1.1, 1])
    for op in ops:
        rows = [r for r in doc["rows"] if r["op"] == op]
        count, delta = np.array(_column(rows, "count")), _floats(_column(rows, "mean_delta_pct"))
        drawn = lines.errorbar(count, delta, yerr=np.nan_to_num(_floats(_column(rows, "sem_pct"))), capsize=3,
                               label=op)
        few = np.array(_column(rows, "n_archs")) < MIN_GROUP
        color = drawn.lines[0].get_color()
        lines.scatter(count[~few], delta[~few], color=color, s=36, zorder=3)
        lines.scatter(count[few], delta[few], facecolors="white", edgecolors=color, s=36, zorder=3)
    lines.axhline(0, color="black", lw=0.8)
    lines.set_xlabel("edges of the cell carrying the op")
    lines.set_ylabel("mean supernet − true rank percentile\n(points, ± s.e.m.)")
    lines.set_title(f"over-rated (> 0) or under-rated (< 0) by op count\n(hollow: fewer than {MIN_GROUP} archs)")
    lines.set_xticks(range(cfg.get("max_count", len(edges)) + 1))
    lines.legend(loc="best")
    if not edges:  # a space without per-slot ops: no per-edge panel
        heat.set_visible(False)
        fig.suptitle(f"{title}: operator bias ({cfg['n_archs']} archs, {doc['truth']})")
        return fig
    diff = np.zeros((len(edges), len(ops)))
    for r in doc["edges"]:
        diff[edges.index(r["edge"]), ops.index(r["op"])] = 100 * (r["supernet_top_freq"] - r["truth_top_freq"])
    limit = max(1.0, float(np.abs(diff).max()))
    image = heat.imshow(diff, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(diff):
        heat.text(j, i, f"{value:+.0f}", ha="center", va="center", fontsize=10,
                  color="white" if abs(value) > 0.6 * limit else "black")
    heat.set_xticks(range(len(ops)), [op.replace("_", "\n", 1) for op in ops])
    heat.set_yticks(range(len(edges)), [f"edge {e}" for e in edges])
    heat.grid(False)
    top = f"{100 * cfg['top_fraction']:g}% ({cfg['top_k']} archs)"
    heat.set_title(f"op share per edge: supernet top-{top}\nminus ground-truth top-{top}")
    fig.colorbar(image, ax=heat, label="difference (percentage points)")
    fig.suptitle(f"{title}: operator bias ({cfg['n_archs']} archs, {doc['truth']})")
    return fig


# ---------------------------------------------------------------------------------------------- finetune

@styled
def finetune_figure(doc: dict[str, Any], title: str) -> Figure:
    """Rank correlation and accuracy against fine-tuning batches per subnet, and the cost per subnet."""
    rows = sorted(doc["rows"], key=lambda r: r["finetune_batches"])
    batches = _column(rows, "finetune_batches")
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax, cost = fig.subplots(1, 2, width_ratios=[1.6, 1])
    _correlation_lines(ax, batches, rows)
    ax.set_xlabel("fine-tuning batches per subnet")
    ax.set_xticks(batches)
    ax.set_ylabel(f"rank correlation with {doc['truth']} (95% CI)")
    _accuracy_twin(fig, ax, batches, rows)
    ax.set_title("ranking after fine-tuning each subnet")
    cost.plot(batches, _column(rows, "seconds_per_subnet"), marker="o", color="tab:red")
    cost.set_xlabel("fine-tuning batches per subnet")
    cost.set_xticks(batches)
    cost.set_ylabel("seconds per subnet")
    cost.set_ylim(bottom=0)
    cost.set_title("evaluation cost")
    fig.suptitle(f"{title}: fine-tuning before scoring")
    return fig
