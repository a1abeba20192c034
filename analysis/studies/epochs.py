"""The epochs study: ranking against training length. Its computation, figure and record (no torch).

Per scored checkpoint: mean supernet accuracy, Kendall/Spearman with bootstrap CIs, and Kendall between the
supernet rankings of successive checkpoints (archs scored at every epoch only).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from wsnas.analysis.metrics import kendall_tau, resample_indices, resampled_stat, spearman_rho, stat_or_nan
from wsnas.analysis.plots.correlation import accuracy_twin, correlation_lines
from wsnas.analysis.plots.scatter import ceiling_kendall
from wsnas.analysis.plots.style import column, styled
from wsnas.analysis.replicated import ScoreSet, paired_difference, replicate_summary
from wsnas.analysis.report.reading import read_metrics
from wsnas.analysis.studies.inputs import StudyError, StudyInput
from wsnas.analysis.studies.record import RUN, Study
from wsnas.core.run_files import SUPERNET_ACC


def epochs_study(reps: Sequence[StudyInput]) -> dict[str, Any]:
    """Accuracy and rank correlation against training length, on the archs every replicate scored at every epoch.

    Row keys: epoch, n_archs, replicates, mean_supernet_acc (mean over replicates), mean_truth, kendall/spearman
    (mean over replicates) with _ci_low/_ci_high (replicate-level: t on the seed part + the arch parts; archs only for one run) and _sd, and from
    the second epoch on prev_kendall (each replicate's ranking at this checkpoint against its ranking at the
    previous one, mean over replicates, with its interval). "change" compares the final epoch with the epoch of
    the highest Kendall by a paired comparison (same archs, same supernets).
    """
    a = reps[0].cfg.analysis
    pivots = [inp.scores.pivot(index="key", columns="epoch", values=SUPERNET_ACC).dropna() for inp in reps]
    epochs = sorted(set.intersection(*(set(int(e) for e in p.columns) for p in pivots)))
    keys = sorted(set.intersection(*(set(p.index) for p in pivots)))
    if not epochs or len(keys) < 3:
        raise StudyError(f"epochs study: the replicates share {len(epochs)} scored epochs and {len(keys)} archs; "
                         f"score the same archs at the same epochs in each (`wsnas evaluate RUN --set "
                         f"eval.epochs=[5,10,15,20]`)")
    truth = reps[0].truth.values(reps[0].metric, keys)
    members = tuple(str(inp.run.path.resolve()) for inp in reps)
    sets = {e: ScoreSet(f"epoch {e}", tuple(keys), np.stack([p.loc[keys, e].to_numpy(float) for p in pivots]),
                        members) for e in epochs}
    rows = []
    for i, epoch in enumerate(epochs):
        summary = replicate_summary(sets[epoch], truth, topk=(), n_boot=a.n_boot, seed=a.seed)
        row: dict[str, Any] = {"epoch": epoch, "n_archs": len(keys), "replicates": len(reps),
                               "mean_supernet_acc": float(sets[epoch].scores.mean()), "mean_truth": float(truth.mean())}
        for name in ("kendall", "spearman"):
            c = summary[name]
            row.update({name: c["value"], f"{name}_ci_low": c["ci_low"], f"{name}_ci_high": c["ci_high"],
                        f"{name}_sd": c["sd"], f"{name}_per_replicate": c["per_replicate"]})
        if i:
            row.update(_previous_epoch(sets[epochs[i - 1]], sets[epoch], a.n_boot, a.seed))
        rows.append(row)
    change = _peak_change(rows, sets, truth, a.n_boot, a.seed)
    config = {"epochs": epochs, "n_common_archs": len(keys), "replicates": len(reps), "n_boot": a.n_boot,
              "bootstrap_seed": a.seed}
    return reps[0].document("epochs", config, rows, _epoch_findings(rows, change, reps[0].run.path), change=change)


def _previous_epoch(before: ScoreSet, after: ScoreSet, n_boot: int, seed: int) -> dict[str, Any]:
    """Kendall and Spearman between each replicate's rankings at two checkpoints (mean over replicates, CI)."""
    idx = resample_indices(len(after.keys), n_boot, seed)
    out: dict[str, Any] = {}
    for name, fn in (("kendall", kendall_tau), ("spearman", spearman_rho)):
        per = np.array([stat_or_nan(fn, x, y) for x, y in zip(before.scores, after.scores)])
        boots = np.stack([resampled_stat(fn, x, y, idx) for x, y in zip(before.scores, after.scores)]).mean(axis=0)
        boots = boots[np.isfinite(boots)]
        out[f"prev_{name}"] = float(np.nanmean(per)) if np.isfinite(per).any() else None
        if name == "kendall":
            low, high = np.quantile(boots, [0.025, 0.975]) if boots.size else (None, None)
            out.update({"prev_kendall_ci_low": low, "prev_kendall_ci_high": high})
    return out


def _peak_change(rows: list[dict[str, Any]], sets: dict[int, ScoreSet], truth: np.ndarray, n_boot: int,
                 seed: int) -> dict[str, Any] | None:
    """Final epoch minus the epoch of the highest mean Kendall, paired over archs and replicates (None when the
    final epoch is the highest, or only one epoch is scored)."""
    defined = [r for r in rows if r["kendall"] is not None and math.isfinite(r["kendall"])]
    if len(rows) < 2 or not defined:
        return None
    peak, last = max(defined, key=lambda r: r["kendall"]), rows[-1]
    if peak is last:
        first = rows[0]
        diff = paired_difference(sets[last["epoch"]], sets[first["epoch"]], truth, topk=(), n_boot=n_boot, seed=seed)
        return {"from_epoch": first["epoch"], "to_epoch": last["epoch"], "peak_is_last": True,
                "kendall": diff["kendall"]}
    diff = paired_difference(sets[last["epoch"]], sets[peak["epoch"]], truth, topk=(), n_boot=n_boot, seed=seed)
    return {"from_epoch": peak["epoch"], "to_epoch": last["epoch"], "peak_is_last": False, "kendall": diff["kendall"]}


def _epoch_findings(rows: list[dict[str, Any]], change: dict[str, Any] | None, run: Path) -> list[str]:
    if len(rows) < 2:
        return [f"only epoch {rows[0]['epoch']} is scored; score several checkpoints with "
                f"`wsnas evaluate {run} --set eval.epochs=[5,10,15,20]` (train.checkpoint_every must divide them)"]
    first, last = rows[0], rows[-1]
    reps = last.get("replicates", 1)
    over = f" (mean over {reps} replicates)" if reps > 1 else ""
    findings = [f"mean supernet accuracy {first['mean_supernet_acc']:.2f}% at epoch {first['epoch']} -> "
                f"{last['mean_supernet_acc']:.2f}% at epoch {last['epoch']} "
                f"({last['mean_supernet_acc'] - first['mean_supernet_acc']:+.2f} points){over}"]
    if change is None:
        return findings + ["Kendall tau is undefined at every epoch (constant scores)"]
    findings.append("Kendall tau " + ", ".join(f"{r['kendall']:+.3f} at epoch {r['epoch']}" for r in rows) + over)
    d = change["kendall"]
    text = f"{d['difference']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] (paired over archs and replicates)"
    rises = d["ci_low"] > 0
    falls = d["ci_high"] < 0
    if change["peak_is_last"]:
        findings.append(f"the correlation was highest at the last scored epoch; epoch {change['to_epoch']} minus "
                        f"epoch {change['from_epoch']}: {text}: "
                        + ("it rose" if rises else "not distinguishable from no change"))
    else:
        findings.append(f"after its peak at epoch {change['from_epoch']} the correlation "
                        + ("fell" if falls else "saturated (not distinguishable from the peak)")
                        + f": epoch {change['to_epoch']} minus epoch {change['from_epoch']}: {text}")
    return findings


# ------------------------------------------------------------------------------------------------ figure

@styled
def epochs_figure(doc: dict[str, Any], title: str, ceiling: dict[str, float] | None = None) -> Figure:
    """Rank correlation with the ground truth (95% CIs) against training epochs, mean accuracy on a twin axis.

    `ceiling` ({comparison: Kendall tau}, see ceiling_kendall) adds the seed-noise ceiling as dotted lines.
    """
    rows = doc["rows"]
    epochs = column(rows, "epoch")
    fig = Figure(figsize=(8.5, 4.8), layout="constrained")
    ax = fig.subplots()
    correlation_lines(ax, epochs, rows)
    for (name, tau), color in zip((ceiling or {}).items(), ("tab:red", "tab:brown", "tab:olive")):
        ax.axhline(tau, ls=":", lw=2, color=color, label=f"ceiling τ ({name})".replace(" ()", ""))
    prev = [(e, r.get("prev_kendall")) for e, r in zip(epochs, rows) if r.get("prev_kendall") is not None]
    if prev:
        ax.plot(*zip(*prev), ls="--", marker="^", color="tab:purple", label="Kendall τ vs previous checkpoint")
    ax.set_xlabel("supernet training epoch")
    ax.set_ylabel("rank correlation (95% CI)")
    accuracy_twin(fig, ax, epochs, rows)
    ax.set_xticks(epochs)
    ax.set_title(f"{title}: ranking vs training length ({doc['truth']}, n = {rows[-1]['n_archs']} archs)")
    return fig


def _draw(doc: dict[str, Any], title: str, directory: Path) -> Figure:
    """The figure, with the seed-noise ceiling of the newest result in DIRECTORY/metrics.json where there is one."""
    results = (read_metrics(directory) or {}).get("results", [])
    return epochs_figure(doc, title, ceiling=ceiling_kendall(results[-1].get("ceiling")) if results else {})


def _undrawable(doc: dict[str, Any]) -> str | None:
    return f"only epoch {doc['rows'][0]['epoch']} was scored" if len(doc["rows"]) < 2 else None


RECORD = Study(
    name="epochs", title="Ranking against training length",
    caption="Kendall and Spearman correlation with the ground truth (95% bootstrap CIs) at each scored checkpoint, "
            "on the archs scored at every epoch; dashed: Kendall tau between the supernet's rankings at "
            "successive checkpoints; dotted: the ceilings from metrics.json (the bound for any predictor against "
            "the truth column, and benchmark runs ranking each other); orange (right axis): "
            "mean supernet accuracy.",
    producer="wsnas evaluate {dir} --set eval.epochs=[5,10,15,20] && wsnas studies {dir} --only epochs",
    draw=_draw,
    applies_to=(RUN,),
    compute=lambda reps, options: epochs_study(reps),
    not_for_audit="an audit has one score per arch, not several checkpoints",
    undrawable=_undrawable,
)
