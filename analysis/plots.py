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
import matplotlib.lines
import matplotlib.patches
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

DPI = 130
STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
         "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13, "axes.grid": True,
         "grid.alpha": 0.3}
MODE_COLORS = {"optimistic": "tab:blue", "random": "tab:gray"}
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
        lines = [f"{panel.label} ({panel.truth.size} archs)"]
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
    for (name, tau), color in zip((ceiling or {}).items(), ("tab:red", "tab:brown", "tab:olive")):
        ax.axhline(tau, ls=":", lw=2, color=color, label=f"ceiling τ ({name})".replace(" ()", ""))
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
    free = [key[:-len("_best_mean")] for key in curve[0] if key.startswith("baseline:") and key.endswith("_best_mean")]
    for key, style, color in zip(free, ("--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))), BASELINE_COLORS):
        ax.plot(k, _column(curve, f"{key}_best_mean"), ls=style, lw=1.6, color=color,
                label=f"{key[len('baseline:'):]} top-k (free baseline), mean")
    ax.plot(k, _column(curve, "oracle_best_mean"), ls="--", color="black", label="oracle (best in draw), mean")
    ax.set_xscale("log")
    ax.set_xticks([t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= max(k)])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("k (archs picked from a draw, log scale)")
    ax.set_ylabel(f"best true accuracy among the k (%, {doc['truth']})")
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(f"top-k over {cfg['draws']} draws of {cfg['draw_size']} archs")
    if hits:
        x = np.arange(len(hits))
        free_hits = [key for key in hits[0] if key.startswith("baseline:")]
        who = [("supernet_rate", "tab:blue", "supernet"),
               *[(key, color, key[len("baseline:"):-len("_rate")]) for key, color in zip(free_hits, BASELINE_COLORS)],
               ("random_rate", "tab:gray", "random")]
        width = 0.8 / len(who)
        for i, (key, color, label) in enumerate(who):
            drawn = bars.bar(x + (i - (len(who) - 1) / 2) * width, [100 * h[key] for h in hits], width=width,
                             color=color, label=label)
            bars.bar_label(drawn, fmt="%.0f%%", fontsize=9)
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
        best = _column(rows, "supernet_top10_best")
        top_ax.errorbar(p, _floats(best), capsize=4, marker="o", color=color, label=f"{mode}: supernet top-10",
                        yerr=_yerr(best, _column(rows, "supernet_top10_best_ci_low"),
                                   _column(rows, "supernet_top10_best_ci_high")))
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
    top_ax.set_ylabel("best true accuracy of 10 picked (%, 95% CI)")
    top_ax.set_title("supernet top-10 vs random 10")
    tau_ax.set_ylabel("Kendall τ on the remaining pool (95% CI)")
    tau_ax.set_title("ranking on the remaining pool")
    reps = doc.get("config", {}).get("replicates", 1)
    fig.suptitle(f"{title}: search-space pruning ({doc['truth']}"
                 + (f"; mean over {reps} supernets per pool, replicate-level CIs)" if reps > 1 else ")"))
    return fig


# --------------------------------------------------------------------------------------------------- bias

NULL_COLOR, FLAG_COLOR, PLAIN_COLOR = "0.55", "tab:red", "tab:blue"


def _null_forest(fig: Figure, ax: Axes, rows: Sequence[dict[str, Any]], labels: Sequence[str], fmt: str,
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
        err = _yerr([row["value"]], [row.get("ci_low")], [row.get("ci_high")])
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


def _triangle(ax: Axes, pairs: dict[tuple[str, str], dict[str, Any]], null: dict[str, Any] | None) -> None:
    """Three nodes (parameters, truth, supernet) and the Kendall tau of each pair on its edge; on the
    parameters-supernet edge also what an unbiased scorer of the supernet's quality gives (`null`)."""
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
        if null and {a, b} == {"params", "supernet"}:
            text += (f"\nunbiased scorer: {null['null_median']:+.3f}\n(95% band [{null['null_sim_low']:+.3f}, "
                     f"{null['null_sim_high']:+.3f}])")
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, text, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"})
    for key, (x, y) in nodes.items():
        ax.text(x, y, names[key], ha="center", va="center", fontsize=11, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.4", "facecolor": "lightyellow", "edgecolor": "0.3"})
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()


def _replicates_text(cfg: dict[str, Any]) -> str:
    reps = cfg.get("replicates", 1)
    return f"mean of {reps} replicates, " if reps > 1 else ""


@styled
def bias_figure(doc: dict[str, Any], title: str) -> Figure:
    """The Kendall triangle parameters / ground truth / supernet, and each size statistic against the band an
    unbiased scorer with the supernet's precision along the truth gives."""
    statistics, cfg = doc.get("statistics", []), doc["config"]
    fig = Figure(figsize=(13, 5.2), layout="constrained")
    tri, forest = fig.subplots(1, 2, width_ratios=[1, 1.1])
    null = next((s for s in statistics if s["statistic"] == "kendall(params, supernet)"), None)
    _triangle(tri, {(r["a"], r["b"]): r for r in doc["rows"]}, null)
    tri.set_title("Kendall τ between size, truth and supernet\n(95% CI: archs resampled, seeds fixed)")
    if statistics:
        labels = [s["statistic"].replace("partial_spearman", "partial ρ").replace(" | ", "\n| ") for s in statistics]
        _null_forest(fig, forest, statistics, labels, "+.3f",
                     "rank correlation (τ; partial ρ: Spearman given the truth; > 0 = favours larger)",
                     f"against an unbiased scorer of the same precision\n({_replicates_text(cfg)}"
                     f"{cfg.get('n_archs', '?')} archs, epoch {cfg.get('epoch', '?')})")
    else:
        forest.set_visible(False)
    fig.suptitle(f"{title}: bias towards large models ({doc['truth']})")
    return fig


# ---------------------------------------------------------------------------------------------- operators

@styled
def operator_figure(doc: dict[str, Any], title: str) -> Figure:
    """Each op's effect on the supernet's rank at equal true rank, against an unbiased scorer's band; and the
    same per edge (a heatmap, cells outside the band marked)."""
    cfg = doc["config"]
    ops_rows = [r for r in doc["rows"] if r["model"] == "op"]
    edge_rows = [r for r in doc["rows"] if r["model"] == "edge"]
    fig = Figure(figsize=(14, 5.6), layout="constrained")
    forest, heat = fig.subplots(1, 2, width_ratios=[1, 1.15])
    if ops_rows:
        _null_forest(fig, forest, ops_rows, [r["op"] for r in ops_rows], "+.1f",
                     "rank-percentile points per slot with the op\n(against the average op, at equal true rank)",
                     f"per op: over-rated (> 0) or under-rated (< 0)\n({_replicates_text(cfg)}{cfg['n_archs']} archs)")
    else:
        forest.set_visible(False)
    if edge_rows:
        ops, edges = cfg["ops"], cfg["edges"]
        effect = np.full((len(edges), len(ops)), np.nan)
        outside = np.zeros_like(effect, dtype=bool)
        for r in edge_rows:
            i, j = edges.index(r["edge"]), ops.index(r["op"])
            effect[i, j], outside[i, j] = r["value"], r["outside"]
        limit = max(1.0, float(np.nanmax(np.abs(effect))))
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.92")
        image = heat.imshow(np.ma.masked_invalid(effect), cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(effect):
            if np.isnan(value):
                continue
            heat.text(j, i, f"{value:+.1f}" + ("*" if outside[i, j] else ""), ha="center", va="center",
                      fontsize=10, fontweight="bold" if outside[i, j] else "normal",
                      color="white" if abs(value) > 0.6 * limit else "black")
            if outside[i, j]:
                heat.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5,
                                                            edgecolor="black"))
        heat.set_xticks(range(len(ops)), [op.replace("_", "\n", 1) for op in ops])
        heat.set_yticks(range(len(edges)), [f"edge {e}" for e in edges])
        heat.grid(False)
        heat.set_title("per edge: effect of the op on that edge (vs the edge's average op)\n"
                       "* and boxed: outside an unbiased scorer's 95% band")
        fig.colorbar(image, ax=heat, label="rank-percentile points")
    else:
        heat.set_visible(False)
    fig.suptitle(f"{title}: operator bias ({doc['truth']}): supernet rank regressed on true rank + ops")
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


# -------------------------------------------------------------------------------------------------- noise

@styled
def noise_figure(doc: dict[str, Any], title: str) -> Figure:
    """The noise budget: the sd of Kendall tau from each source, and the predicted 95% CI width of the mean
    Kendall against the number of replicates, per number of archs (at the measured held-out images)."""
    comp, grid = doc["components"], doc["grid"]
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    bars, lines = fig.subplots(1, 2, width_ratios=[1, 1.3])
    rows = [r for r in doc["rows"] if as_number(r["sd"]) is not None]
    y = np.arange(len(rows))[::-1]
    drawn = bars.barh(y, [r["sd"] for r in rows], color="tab:purple", alpha=0.75)
    bars.bar_label(drawn, labels=[f"{r['sd']:.3f} ({100 * r['share']:.0f}%)" for r in rows], padding=3, fontsize=10)
    bars.set_yticks(y, [r["source"] for r in rows])
    bars.set_xlabel("sd of Kendall τ from this source (share of variance)")
    bars.set_xlim(0, 1.35 * max([r["sd"] for r in rows] + [1e-3]))
    bars.set_title(f"{comp['replicates']} replicates x {comp['calib_draws']} calibration draws,\n"
                   f"{comp['archs']} archs, {comp['images']} held-out images")
    sizes = sorted({g["images"] for g in grid})
    images = comp["images"] if comp["images"] in sizes else sizes[-1]  # the measured number (in the grid since v2)
    for archs in sorted({g["archs"] for g in grid}):
        pts = sorted((g["replicates"], g["width"]) for g in grid if g["archs"] == archs and g["images"] == images)
        lines.plot(*zip(*pts), marker="o", label=f"{archs} archs")
    for w in (0.1, 0.2):
        lines.axhline(w, ls=":", color="0.4")
        lines.text(1, w, f" width {w}", va="bottom", fontsize=10, color="0.3")
    lines.set_xscale("log")
    lines.set_xticks(sorted({g["replicates"] for g in grid}))
    lines.xaxis.set_major_formatter(ScalarFormatter())
    lines.set_xlabel("replicates (supernets with other training seeds)")
    lines.set_ylabel("predicted 95% CI width of Kendall τ")
    lines.set_title(f"design: CI width at {images} held-out images")
    lines.legend(loc="upper right")
    fig.suptitle(f"{title}: noise budget of Kendall τ ({doc['truth']})")
    return fig


# ------------------------------------------------------------------------------------------ across spaces

@styled
def spaces_figure(epochs: dict[str, dict[str, Any]], topk: dict[str, dict[str, Any]]) -> Figure:
    """Zhang et al.'s two summary plots over several spaces: Kendall tau (95% CI) against the fraction of training
    done, and the supernet's top-k gain over a random pick of k against k (mean over draws)."""
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    tau_ax, gain_ax = fig.subplots(1, 2)
    for label, doc in epochs.items():
        rows = doc["rows"]
        last = max(r["epoch"] for r in rows)
        x = [r["epoch"] / last for r in rows]
        values = _column(rows, "kendall")
        tau_ax.errorbar(x, _floats(values), yerr=_yerr(values, _column(rows, "kendall_ci_low"),
                                                        _column(rows, "kendall_ci_high")),
                        marker="o", capsize=3, label=f"{label} ({last} epochs, {rows[-1].get('replicates', 1)} rep.)")
    tau_ax.axhline(0, color="black", lw=0.8)
    tau_ax.set_xlabel("fraction of the supernet's training done")
    tau_ax.set_ylabel("Kendall τ with the ground truth (95% CI)")
    tau_ax.set_title("correlation against training length")
    tau_ax.legend(loc="best")
    for label, doc in topk.items():
        curve = doc["curve"]
        k = _column(curve, "k")
        gain = _floats(_column(curve, "supernet_best_mean")) - _floats(_column(curve, "random_expected_best_mean"))
        gain_ax.plot(k, gain, marker="o", label=f"{label} (draws of {doc['config']['draw_size']})")
    gain_ax.axhline(0, color="black", lw=0.8, label="random pick")
    gain_ax.set_xscale("log")
    gain_ax.xaxis.set_major_formatter(ScalarFormatter())
    gain_ax.set_xlabel("k (archs picked, log scale)")
    gain_ax.set_ylabel("best true accuracy: supernet top-k − random k (points)")
    gain_ax.set_title("top-k against a random pick")
    gain_ax.legend(loc="best")
    fig.suptitle("Zhang et al.'s findings across search spaces")
    return fig
