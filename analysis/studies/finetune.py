"""The fine-tuning study's torch-free part: one row of figures per fine-tuning budget, the figure and the record.
The scoring driver is wsnas.workflows.finetune_study (it scores subnets with wsnas.supernets).
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from matplotlib.figure import Figure

from wsnas.analysis.plots.correlation import accuracy_twin, correlation_lines
from wsnas.analysis.plots.style import column, styled
from wsnas.analysis.score_summary import summarise
from wsnas.analysis.studies.record import RUN, Study
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError

STUDY = "finetune"


def check_batches(batches: Sequence[int]) -> list[int]:
    """The fine-tuning budgets, distinct and ascending; each a whole number >= 0."""
    bad = [n for n in batches if isinstance(n, bool) or not isinstance(n, int) or n < 0]
    if bad or not batches:
        raise WsnasError(f"fine-tuning budgets {list(batches)!r} must be whole numbers >= 0 (batches per subnet), "
                         f"e.g. --batches 0,1,5,10")
    return sorted(set(batches))


def budget_rows(joined: pd.DataFrame, budgets: Sequence[int], cfg: Config) -> list[dict[str, Any]]:
    """One row per fine-tuning budget of the scores joined with the truth: Kendall tau with its bootstrap interval,
    Spearman rho, the mean supernet accuracy and the seconds per subnet."""
    rows = []
    for n in budgets:
        group = joined[joined.finetune_batches == n]
        [summary] = summarise(group, topk=[], n_boot=cfg.analysis.n_boot, seed=cfg.analysis.seed)
        rows.append({"finetune_batches": n, "kendall": summary["kendall"]["value"],
                     "kendall_ci_low": summary["kendall"]["ci_low"], "kendall_ci_high": summary["kendall"]["ci_high"],
                     "spearman": summary["spearman"]["value"], "mean_supernet_acc": summary["mean_supernet_acc"],
                     "seconds_per_subnet": float(group["seconds"].mean()), "n_archs": summary["n_archs"]})
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The study's rows as a plain-text table for the terminal."""
    lines = [f"{'batches':>7} {'kendall':>8} {'95% CI':>17} {'spearman':>8} {'mean acc':>8} {'s/subnet':>8}"]
    for r in rows:
        lines.append(f"{r['finetune_batches']:>7} {r['kendall']:>+8.3f} [{r['kendall_ci_low']:+.3f}, "
                     f"{r['kendall_ci_high']:+.3f}] {r['spearman']:>+8.3f} {r['mean_supernet_acc']:>8.2f} "
                     f"{r['seconds_per_subnet']:>8.3f}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ figure

@styled
def finetune_figure(doc: dict[str, Any], title: str) -> Figure:
    """Rank correlation and accuracy against fine-tuning batches per subnet, and the cost per subnet."""
    rows = sorted(doc["rows"], key=lambda r: r["finetune_batches"])
    batches = column(rows, "finetune_batches")
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax, cost = fig.subplots(1, 2, width_ratios=[1.6, 1])
    correlation_lines(ax, batches, rows)
    ax.set_xlabel("fine-tuning batches per subnet")
    ax.set_xticks(batches)
    ax.set_ylabel(f"rank correlation with {doc['truth']} (95% CI)")
    accuracy_twin(fig, ax, batches, rows)
    ax.set_title("ranking after fine-tuning each subnet")
    cost.plot(batches, column(rows, "seconds_per_subnet"), marker="o", color="tab:red")
    cost.set_xlabel("fine-tuning batches per subnet")
    cost.set_xticks(batches)
    cost.set_ylabel("seconds per subnet")
    cost.set_ylim(bottom=0)
    cost.set_title("evaluation cost")
    fig.suptitle(f"{title}: fine-tuning before scoring")
    return fig


RECORD = Study(
    name=STUDY, title="Effect of fine-tuning each subnet before scoring",
    caption="Rank correlation with the ground truth (95% CIs) and mean supernet accuracy against the number "
            "of fine-tuning batches per subnet; right: the cost per subnet.",
    producer="wsnas finetune-study {dir}",
    draw=lambda doc, title, directory: finetune_figure(doc, title),
    applies_to=(RUN,),
)
