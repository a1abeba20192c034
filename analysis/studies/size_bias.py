"""The size-bias study: does the supernet prefer large (or small) models beyond what an unbiased scorer of its
quality shows? Its computation, figure and record (no torch).

Zhang et al.'s triangle: Kendall tau-b between the ground truth, the supernet score and each cost proxy the space
provides (parameters, FLOPs); and, judged against the null (wsnas.analysis.studies.null_bands), per cost c:
kendall(c, supernet), and partial_spearman(supernet, c | truth), the Spearman correlation of supernet and c with
the truth partialled out: (r_sc - r_st r_ct) / sqrt((1 - r_st^2)(1 - r_ct^2)), r = Spearman's rho. > 0: the
supernet ranks larger (costlier) archs higher than the truth does.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from wsnas.analysis.features import FLOPS, PARAMS
from wsnas.analysis.metrics import bootstrap_values, kendall_tau, spearman_rho
from wsnas.analysis.null import fit_null, kendall_rows, pearson_rows, rank_rows
from wsnas.analysis.plots.forest import null_forest, replicates_text
from wsnas.analysis.plots.style import ci_text, styled
from wsnas.analysis.studies.inputs import StudyInput
from wsnas.analysis.studies.null_bands import (NULL_LEVEL, NULL_RULE, NULL_SIMS, Statistic, aligned, band_text, ci,
                                               judge, null_summary, replicate_note)
from wsnas.analysis.studies.record import AUDIT, RUN, Study, findings_starting

COSTS = (("params", PARAMS), ("flops", FLOPS))  # (name in the study, feature column)


def _tau_row(a: str, b: str, x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """Kendall (and Spearman) of each row of x (R, n) with y, as the mean over rows with a bootstrap CI."""
    taus = np.array([kendall_tau(row, y) for row in x])
    boot = np.mean([bootstrap_values(kendall_tau, row, y, n_boot=n_boot, seed=seed) for row in x], axis=0)
    low, high = ci(boot)
    return {"a": a, "b": b, "kendall": float(taus.mean()), "kendall_ci_low": low, "kendall_ci_high": high,
            "spearman": float(np.mean([spearman_rho(row, y) for row in x])), "replicates": taus.tolist()}


def _partial(r_sc: np.ndarray, r_st: np.ndarray, r_ct: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (r_sc - r_st * r_ct) / np.sqrt((1 - r_st ** 2) * (1 - r_ct ** 2))


def size_statistics(truth: np.ndarray, scores: np.ndarray, costs: dict[str, np.ndarray], *, n_boot: int,
                    seed: int, sims: int = NULL_SIMS, level: float = NULL_LEVEL,
                    judged: Sequence[str] | None = None) -> dict[str, Any]:
    """The size study on arrays: truth (n,), scores (R, n), costs {name: (n,)} (see the module docstring).

    Returns {"rows": triangle rows (a, b, kendall with CI, spearman, per-replicate kendall), "statistics":
    judge() rows for kendall(c, supernet) and partial_spearman(supernet, c | truth) per cost in `judged`
    (default: every cost), "null"}.
    """
    model = fit_null(truth, scores, seed)
    null = model.simulate(sims)  # (sims, R, n)
    n = truth.size
    rows = [_tau_row("supernet", "truth", scores, truth, n_boot, seed)]
    for name, cost in costs.items():
        rows += [_tau_row(name, "truth", cost[None], truth, n_boot, seed),
                 _tau_row(name, "supernet", scores, cost, n_boot, seed)]
    null_ranks = rank_rows(null)
    null_st = pearson_rows(null_ranks, stats.rankdata(truth))  # (sims, R)
    obs_st = np.array([spearman_rho(s, truth) for s in scores])
    boot_st = [bootstrap_values(spearman_rho, s, truth, n_boot=n_boot, seed=seed) for s in scores]
    statistics = []
    for name in costs if judged is None else judged:
        cost = costs[name]
        taus = kendall_rows(null.reshape(-1, n), cost).reshape(null.shape[:2])
        statistics.append(Statistic({"statistic": f"kendall({name}, supernet)", "kind": "kendall", "cost": name},
                                    np.array([kendall_tau(cost, s) for s in scores]), taus,
                                    np.mean([bootstrap_values(kendall_tau, s, cost, n_boot=n_boot, seed=seed)
                                             for s in scores], axis=0)))
        r_ct = spearman_rho(cost, truth)
        boot_ct = bootstrap_values(spearman_rho, cost, truth, n_boot=n_boot, seed=seed)
        boot = [_partial(bootstrap_values(spearman_rho, s, cost, n_boot=n_boot, seed=seed), boot_st[r], boot_ct)
                for r, s in enumerate(scores)]
        statistics.append(Statistic(
            {"statistic": f"partial_spearman(supernet, {name} | truth)", "kind": "partial_spearman", "cost": name},
            _partial(np.array([spearman_rho(s, cost) for s in scores]), obs_st, r_ct),
            _partial(pearson_rows(null_ranks, stats.rankdata(cost)), null_st, r_ct), np.mean(boot, axis=0)))
    return {"rows": rows, "statistics": judge(statistics, level),
            "null": null_summary(model, null, truth, sims, level)}


def _size_findings(rows: list[dict[str, Any]], statistics: list[dict[str, Any]], reps: int) -> list[str]:
    findings = [f"tau({r['a']}, {r['b']}) = {r['kendall']:+.3f} [{r['kendall_ci_low']:+.3f}, "
                f"{r['kendall_ci_high']:+.3f}] (archs resampled, seeds fixed)" for r in rows]
    outside = [s for s in statistics if s["outside"]]
    for s in outside:
        larger = s["excess"] > 0
        what = ("ranks larger" if larger else "ranks smaller") + f" archs (by {s['cost']}) higher"
        findings.append(f"size bias: the supernet {what} than an unbiased scorer of its quality would: "
                        f"{s['statistic']} = {band_text(s, '+.3f')}; {s['excess']:+.3f} beyond the null median")
    if not outside:
        findings.append("no evidence of a size bias: every statistic lies inside the 95% band of an unbiased "
                        "scorer with the supernet's precision along the truth (" + "; ".join(
                            f"{s['statistic']} = {s['value']:+.3f}, band [{s['null_sim_low']:+.3f}, "
                            f"{s['null_sim_high']:+.3f}]" for s in statistics) + ")")
    return findings + replicate_note(statistics, reps)


def bias_study(reps: Sequence[StudyInput], sims: int = NULL_SIMS) -> dict[str, Any]:
    """Does the supernet prefer large (or small) models beyond what an unbiased scorer of its quality shows?"""
    data = aligned(reps, "bias")
    if isinstance(data, dict):
        return data
    first = reps[0]
    source, mechanism, fix = first.feature_source
    costs, judged, skipped = {}, [], []
    for name, column in COSTS:
        values = data.features[column].to_numpy(dtype=float) if column in data.features.columns else None
        if values is None:
            skipped.append(f"{name}: {source} provides no {column} ({mechanism})")
        elif not np.isfinite(values).all() or np.ptp(values) == 0:
            skipped.append(f"{name}: missing or constant over the {len(data.keys)} archs")
        else:
            twin = next((other for other in judged if np.array_equal(stats.rankdata(values), stats.rankdata(costs[other]))), None)
            if twin:
                skipped.append(f"{name} against the null: it ranks the {len(data.keys)} archs exactly as {twin}")
            else:
                judged.append(name)
            costs[name] = values
    if not costs:
        return first.unavailable("bias", f"{source} provides no usable parameter counts or FLOPs "
                                         f"({'; '.join(skipped)}); {fix}")
    a = first.cfg.analysis
    result = size_statistics(data.truth, data.scores, costs, n_boot=a.n_boot, seed=a.seed, sims=sims, judged=judged)
    config = {"epoch": data.epochs[0], "epochs": data.epochs, "n_archs": len(data.keys),
              "replicates": len(reps), "run_dirs": [str(inp.run.path) for inp in reps], "n_boot": a.n_boot,
              "bootstrap_seed": a.seed, "null_sims": sims, "null_seed": a.seed, "costs": list(costs), "judged_costs": judged,
              "cost_model": f"{first.cfg.space} SearchSpace.features: the benchmark's training skeleton"
              if first.features is None else source}
    findings = _size_findings(result["rows"], result["statistics"], len(reps))
    return first.document("bias", config, result["rows"], findings + data.notes + [f"skipped {s}" for s in skipped],
                          statistics=result["statistics"], null=result["null"], null_rule=NULL_RULE,
                          skipped=skipped)


# ------------------------------------------------------------------------------------------------ figure

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
        null_forest(fig, forest, statistics, labels, "+.3f",
                     "rank correlation (τ; partial ρ: Spearman given the truth; > 0 = favours larger)",
                     f"against an unbiased scorer of the same precision\n({replicates_text(cfg)}"
                     f"{cfg.get('n_archs', '?')} archs, epoch {cfg.get('epoch', '?')})")
    else:
        forest.set_visible(False)
    fig.suptitle(f"{title}: bias towards large models ({doc['truth']})")
    return fig


RECORD = Study(
    name="bias", title="Bias towards large models",
    caption="Left: Kendall tau (95% bootstrap CI over archs) between parameter count, ground truth and supernet "
            "score. Right: each size statistic (tau with the cost proxy; partial Spearman of supernet and cost "
            "given the truth, > 0 = larger archs ranked higher than the truth ranks them) against the band of an "
            "unbiased scorer: the supernet's scores permuted among archs of near-equal truth (grey: 95% of such "
            "scorers, light = all statistics at once, which decides a finding). Outside the band (red) is a size "
            "bias; inside, there is no evidence of one.",
    producer="wsnas studies {dir} --only bias",
    draw=lambda doc, title, directory: bias_figure(doc, title),
    applies_to=(RUN, AUDIT),
    compute=lambda reps, options: bias_study(reps, options.null_sims),
    verdict=findings_starting("size bias:", "no evidence of a size bias"),
)
