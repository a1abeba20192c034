"""The report's figure across search spaces: the epochs and top-k studies of every directory, when they come from two
or more spaces (no torch)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from wsnas.analysis.plots.style import column, floats, styled, yerr
from wsnas.analysis.plots.ticks import count_log_xaxis
from wsnas.analysis.report.pages import PlannedFigure
from wsnas.analysis.report.reading import read_study


def across_spaces(dirs: list[Path]) -> PlannedFigure | None:
    """One figure of the epochs and top-k studies of every directory, when they come from two or more spaces."""
    epochs, topk, spaces = {}, {}, set()
    for d in dirs:
        for name, found in (("epochs", epochs), ("topk", topk)):
            doc = read_study(d, name)
            if doc and doc.get("rows") and (name != "epochs" or len(doc["rows"]) > 1):
                found[f"{doc.get('space', '?')}: {d.resolve().name}"] = doc
                spaces.add(doc.get("space"))
    if len(spaces) < 2:
        return None
    findings = [f"{label}: Kendall {doc['rows'][0]['kendall']:+.3f} at epoch {doc['rows'][0]['epoch']} -> "
                f"{doc['rows'][-1]['kendall']:+.3f} at epoch {doc['rows'][-1]['epoch']}" for label, doc in epochs.items()]
    findings += [f"{label}: " + "; ".join(f"top-{r['label']} {r['supernet_best_mean'] - r['random_expected_best_mean']:+.2f} "
                                          f"points over random" for r in doc["rows"][:2]) for label, doc in topk.items()]
    return PlannedFigure("spaces", "Across search spaces",
                   "Left: Kendall tau (95% CI; mean over replicates where there are several) against the fraction of "
                   "the supernet's training done, per space. Right: the best true accuracy among the supernet's "
                   "top k minus that of k random archs, mean over draws. Each space against its own benchmark.",
                   findings, lambda: spaces_figure(epochs, topk))


@styled
def spaces_figure(epochs: dict[str, dict[str, Any]], topk: dict[str, dict[str, Any]]) -> Figure:
    """Zhang et al.'s two summary plots over several spaces: Kendall tau (95% CI) against the fraction of training
    done, and the supernet's top-k gain over a random pick of k against k (mean over draws)."""
    fig = Figure(figsize=(13, 7.4), layout="constrained")
    tau_ax, gain_ax = fig.subplots(1, 2)
    for label, doc in epochs.items():
        rows = doc["rows"]
        last = max(r["epoch"] for r in rows)
        x = [r["epoch"] / last for r in rows]
        values = column(rows, "kendall")
        tau_ax.errorbar(x, floats(values), yerr=yerr(values, column(rows, "kendall_ci_low"),
                                                        column(rows, "kendall_ci_high")),
                        marker="o", capsize=3, label=f"{label} ({last} epochs, {rows[-1].get('replicates', 1)} rep.)")
    tau_ax.axhline(0, color="black", lw=0.8)
    tau_ax.set_xlabel("fraction of the supernet's training done")
    tau_ax.set_ylabel("Kendall τ with the ground truth (95% CI)")
    tau_ax.set_title("correlation against training length")
    tau_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=9)  # below: the lines fill the panel
    for label, doc in topk.items():
        curve = doc["curve"]
        k = column(curve, "k")
        gain = floats(column(curve, "supernet_best_mean")) - floats(column(curve, "random_expected_best_mean"))
        gain_ax.plot(k, gain, marker="o", label=f"{label} (draws of {doc['config']['draw_size']})")
    gain_ax.axhline(0, color="black", lw=0.8, label="random pick")
    count_log_xaxis(gain_ax)
    gain_ax.set_xlabel("k (archs picked, log scale)")
    gain_ax.set_ylabel("best true accuracy: supernet top-k − random k (points)")
    gain_ax.set_title("top-k against a random pick")
    gain_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=9)
    fig.suptitle("Zhang et al.'s findings across search spaces")
    return fig
