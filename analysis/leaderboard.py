"""The training-protocol leaderboard: replicate groups that differ in how their supernets were trained, set side
by side on the same archs, at a stated cost (no torch).

Each entry is a replicate group (`wsnas study` output: metrics.json, rep-*/train_log.csv). Its row holds the
group's replicated Kendall with its interval (t over replicates on the seed part, normal on the arch parts; seeds
random, archs resampled), the seed sd, the top-10% and top-1% hit rates (the share of the supernet's top k that are
truly top k), the precision at the bottom 10%, the training CPU-seconds per supernet (the mean over replicates of
the epochs' wall seconds times the torch threads), and two paired comparisons on the same archs
(analysis.paired_compare): against the reference protocol and against parameter count.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from matplotlib.figure import Figure

from wsnas.analysis.paired_compare import BASELINE_PREFIX, compare
from wsnas.analysis.plots.style import BASELINE_COLORS, styled
from wsnas.core.errors import WsnasError
from wsnas.core.groups import is_group, runs_of
from wsnas.core.run_files import METRICS, STUDY_TIME, TRAIN_LOG
from wsnas.core.runs import read_table

HITS = {"top10_hit": "precision_at_k@10%", "top1_hit": "precision_at_k@1%",
        "bottom10_precision": "precision_at_bottom_k@10%"}
COLUMNS = ("protocol", "kendall", "kendall_low", "kendall_high", "seed_sd", *HITS, "train_cpu_s", "threads",
           "vs_reference", "vs_reference_low", "vs_reference_high", "vs_reference_p",
           "vs_params", "vs_params_low", "vs_params_high", "vs_params_p")


def final_result(directory: Path) -> dict[str, Any]:
    """The group's metrics.json entry at its last epoch, for the BN policy and fine-tuning its config evaluates (its
    own score set: a checkpoint ensemble's result, wsnas.analysis.ensembles, is another entry)."""
    path = directory / METRICS
    if not is_group(directory):
        raise WsnasError(f"{directory} is not a replicate group; a leaderboard entry needs replicates (--replicates 3)")
    if not path.is_file():
        raise WsnasError(f"{path} is missing; run `wsnas analyze {directory}` (or finish its study)")
    metrics = json.loads(path.read_text())
    config = metrics["config"]["eval"]
    entries = [r for r in metrics["results"] if r["bn_policy"] == config["bn_policy"]
               and r["finetune_batches"] == config["finetune_batches"] and "ensemble" not in r]
    if not entries:
        raise WsnasError(f"{path} holds no result for bn_policy={config['bn_policy']}, finetune_batches="
                         f"{config['finetune_batches']}; rerun `wsnas evaluate {directory}` and `wsnas analyze`")
    last = max(r["epoch"] for r in entries)
    return next(r for r in entries if r["epoch"] == last)


def train_cpu_seconds(directory: Path) -> tuple[float, int]:
    """Mean training wall seconds per supernet times the torch threads it ran on, and those threads."""
    timing = directory / STUDY_TIME
    threads = int(json.loads(timing.read_text()).get("torch_threads", 1)) if timing.is_file() else 1
    seconds = [float(read_table(run.path / TRAIN_LOG)["seconds"].sum()) for run in runs_of(directory)]
    return threads * sum(seconds) / len(seconds), threads


def _paired(doc: dict[str, Any], prefix: str) -> dict[str, float]:
    k = doc["differences"]["kendall"]
    return {prefix: k["difference"], f"{prefix}_low": k["ci_low"], f"{prefix}_high": k["ci_high"],
            f"{prefix}_p": k.get("p_value", float("nan"))}


def leaderboard(entries: Sequence[tuple[str, Path]], reference: str, mirror: str | None = None) -> pd.DataFrame:
    """One row per (protocol name, group directory), in the order given; paired against the entry named
    `reference` and against parameter count, on the archs both scored."""
    directories = dict(entries)
    if reference not in directories:
        raise WsnasError(f"the reference protocol {reference!r} is not among {', '.join(directories)}")
    rows = []
    for name, directory in entries:
        result = final_result(directory)
        replicated = result["replicated"]
        cpu, threads = train_cpu_seconds(directory)
        row: dict[str, Any] = {"protocol": name, "kendall": replicated["kendall"]["value"],
                               "kendall_low": replicated["kendall"]["ci_low"],
                               "kendall_high": replicated["kendall"]["ci_high"],
                               "seed_sd": replicated["kendall"]["sd"], "train_cpu_s": cpu, "threads": threads}
        row.update({column: replicated[key]["value"] for column, key in HITS.items()})
        if name == reference:
            row.update(dict.fromkeys(("vs_reference", "vs_reference_low", "vs_reference_high", "vs_reference_p"),
                                     float("nan")))
        else:
            row.update(_paired(compare(str(directory), str(directories[reference]), mirror=mirror), "vs_reference"))
        row.update(_paired(compare(str(directory), BASELINE_PREFIX + "params", mirror=mirror), "vs_params"))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def free_lines(directory: Path) -> dict[str, float]:
    """The free baselines' Kendall on the reference group's archs (the figure's horizontal lines)."""
    return {b["name"]: b["kendall"]["value"] for b in final_result(directory).get("baselines", [])}


def leaderboard_markdown(table: pd.DataFrame, reference: str, summaries: dict[str, str], budget: str,
                         figure: str | None) -> str:
    """The leaderboard as markdown: the verdicts first (which protocols differ from the reference and from
    parameter count, paired), then the table, what each column means, and the figure."""
    def interval(row: Any, prefix: str) -> str:
        value = getattr(row, prefix)
        if pd.isna(value):
            return "-"
        return f"{value:+.3f} [{getattr(row, prefix + '_low'):+.3f}, {getattr(row, prefix + '_high'):+.3f}]"

    better = [r.protocol for r in table.itertuples() if r.vs_reference_low > 0]
    worse = [r.protocol for r in table.itertuples() if r.vs_reference_high < 0]
    beats_params = [r.protocol for r in table.itertuples() if r.vs_params_low > 0]
    lines = ["# Training protocols at equal budget", "",
             f"- Better than `{reference}` (paired 95% CI above 0): {', '.join(better) or 'none'}.",
             f"- Worse than `{reference}`: {', '.join(worse) or 'none'}; the rest are not distinguishable from it.",
             f"- Beating parameter count (paired CI above 0): {', '.join(beats_params) or 'none'}.", "",
             f"Budget: {budget}.", "",
             "| protocol | Kendall [95% CI] | seed sd | top-10% hit | top-1% hit | bottom-10% precision | "
             f"train CPU-s / supernet | vs `{reference}` (p) | vs params (p) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| `{r.protocol}` | {interval(r, 'kendall')} | {r.seed_sd:.3f} | "
                     f"{r.top10_hit:.2f} | {r.top1_hit:.2f} | {r.bottom10_precision:.2f} | {r.train_cpu_s:.0f} "
                     f"({r.threads} thr.) | {interval(r, 'vs_reference')}"
                     f"{'' if pd.isna(r.vs_reference_p) else f' (p={r.vs_reference_p:.3f})'} | "
                     f"{interval(r, 'vs_params')} (p={r.vs_params_p:.3f}) |")
    lines += ["", "Protocols:", *[f"- `{name}`: {text}" for name, text in summaries.items()], "",
              "Kendall is the mean over replicates with a t interval over replicates (seeds random, archs "
              "resampled). The hit rates are the share of the supernet's top 10% (1%) of the scored archs that are "
              "truly in the top 10% (1%); bottom-10% precision the same for the worst. The comparisons are paired "
              "on the same archs, A - B in Kendall with a 95% CI and p-value (analysis.paired_compare). CPU-seconds "
              "are the training epochs' wall seconds times the torch threads, on the machine the budget line names."]
    if figure:
        lines += ["", f"![Kendall against training CPU-seconds]({figure})"]
    return "\n".join(lines) + "\n"


@styled
def leaderboard_figure(table: pd.DataFrame, lines: dict[str, float], cpu: str) -> Figure:
    """Kendall (95% CI) of each protocol against its training CPU-seconds per supernet, the free baselines as
    horizontal lines: the cost/quality front."""
    fig = Figure(figsize=(8, 5.5))
    ax = fig.subplots()
    ax.errorbar(table["train_cpu_s"], table["kendall"],
                yerr=[table["kendall"] - table["kendall_low"], table["kendall_high"] - table["kendall"]],
                fmt="o", ms=7, capsize=4, color="tab:blue", label="supernet protocols (95% CI)")
    for row in table.itertuples():
        ax.annotate(row.protocol, (row.train_cpu_s, row.kendall), xytext=(6, 6), textcoords="offset points",
                    fontsize=9)
    for (name, value), color in zip(lines.items(), BASELINE_COLORS * 4):
        ax.axhline(value, color=color, linestyle="--", linewidth=1.2, label=f"{name} (free): {value:+.2f}")
    ax.set_xlim(left=0)
    ax.set_xlabel(f"training CPU-seconds per supernet ({cpu})")
    ax.set_ylabel("Kendall tau with the ground truth")
    ax.set_title("Training protocols: ranking quality against cost")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
