"""The "free baselines" figures of `wsnas report` (no torch): one per result of a run, a replicate group or an audit.

Each shows Kendall tau (95% CI) of the supernet (a group: the mean over replicates with its replicate-level CI; an audit:
its first score column) and of each free baseline on the same archs, and the paired difference supernet minus
baseline with its CI (wsnas.analysis.plots.baselines); the verdict lines are its findings. The data come from
metrics.json, results[*].baselines (written by `wsnas analyze` and `wsnas audit`). Whatever is absent is listed
with a command that works on that directory, or none where no command can.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from wsnas.analysis.audit.baselines import FREE, OTHER, no_cost_reason
from wsnas.analysis.audit.tables import BN_POLICY, NO_POLICY
from wsnas.analysis.free_baselines import COST_BASELINES
from wsnas.analysis.plots.baselines import BaselineRow, baselines_figure
from wsnas.analysis.report.pages import Missing, PlannedFigure, Verdict
from wsnas.analysis.report.reading import ANALYZE
from wsnas.analysis.report.score_sets import report_score_sets, result_key, result_labels
from wsnas.analysis.verdicts import baseline_verdicts, interval_text
from wsnas.core.run_files import FINETUNE, PROXIES

TITLE = "The supernet against free baselines"
PROXIES_TITLE = "Zero-cost proxies among the free baselines"
COST_TITLE = "Parameter count and FLOPs among the free baselines"
CAPTION = ("Left: Kendall tau with the ground truth (95% CI) of {subject} ({who}) and of each baseline on the same "
           "archs: {which}. Right: the Kendall of {subject} minus the baseline's, paired over the same archs ({test}): "
           "green where {subject} ranks better, red where the baseline does, grey where the interval covers 0 (not "
           "distinguishable).")
REPLICATED_TEST = "95% CI and two-sided p-value on the per-replicate differences, t on the seed part"
BOOTSTRAP_TEST = "95% CI and two-sided p-value of a paired bootstrap over archs"
COST_WORDS = {"params": "parameter count", "flops": "FLOPs"}  # the cost baselines (free_baselines.COST_BASELINES)
RUN_MORAL = "A supernet that loses to counting parameters does not earn its training."
AUDIT_MORAL = "A score that loses to counting parameters tells nothing that counting does not."
PROXIES_COMMAND = "wsnas proxies {dir} && wsnas analyze {dir}"
COST, PROXY, COLUMN = "cost", "zero-cost proxy", "score column"  # the kinds of a baseline


def _kind(entry: dict[str, Any]) -> str:
    if entry.get("kind") == OTHER:
        return COLUMN
    return COST if entry["name"] in COST_BASELINES.values() else PROXY


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def caption(result: dict[str, Any], subject: str, who: str, moral: str) -> str:
    """The caption of one baselines figure: it names only the baselines the result holds, and `subject` (the
    supernet, or the audited score column) as the scorer; `moral` closes it where a cost baseline is present."""
    kinds: dict[str, list[str]] = {}
    for b in result["baselines"]:
        kinds.setdefault(_kind(b), []).append(b["name"])
    which = []
    if COST in kinds:
        which.append(_listed([f"{COST_WORDS.get(n, n)} ({n})" for n in kinds[COST]]) + " of the space's cost model")
    if PROXY in kinds:
        proxies = "proxy" if len(kinds[PROXY]) == 1 else "proxies"
        which.append(f"the zero-cost {proxies} {_listed(kinds[PROXY])} computed at initialisation (`wsnas proxies`)")
    if COLUMN in kinds:
        columns = "column" if len(kinds[COLUMN]) == 1 else "columns"
        which.append(f"the audit's other score {columns} {_listed(kinds[COLUMN])}")
    test = REPLICATED_TEST if result.get("replicates", 1) > 1 else BOOTSTRAP_TEST
    text = CAPTION.format(subject=subject, who=who, which="; ".join(which), test=test)
    return text + (f" {moral}" if COST in kinds else "")


def _figures(results: list[dict[str, Any]], label: str, subject: str, who: str, moral: str,
             describe: Callable[[dict[str, Any]], str], base: str = "baselines",
             leading: int | None = None) -> list[PlannedFigure]:
    """One figure per result that holds baselines; stems `base`, or `base`-<i> with several (their kind: `base`);
    the findings of the first `leading` (None: all) are verdicts that lead the report."""
    shown = [r for r in results if r.get("baselines")]
    figures = []
    for i, result in enumerate(shown):
        where = describe(result)
        reps = result.get("replicates", 1)
        how = (f"mean over {reps} replicates; t on the seed part + the arch parts, seeds random, archs resampled"
               if reps > 1 else "bootstrap over archs, seed fixed")
        findings = [f"{where}: {subject} ranks at Kendall {interval_text(result['kendall'])} (95% CI, {how})",
                    *baseline_verdicts(result, subject)]
        rows = [BaselineRow(f"{b['name']} ({_kind(b)})", b["kendall"], b["supernet_minus_baseline"]["kendall"])
                for b in result["baselines"]]
        detail = f"mean of {reps} replicates" if reps > 1 else ""
        stem = base if len(shown) == 1 else f"{base}-{i + 1}"
        figures.append(PlannedFigure(stem, f"{TITLE}: {where}", caption(result, subject, who, moral), findings,
                                     _drawer(result["kendall"], subject, rows,
                                             f"{label}: against free baselines, {where}", detail), kind=base,
                                     verdict=Verdict(TITLE, findings) if leading is None or i < leading else None))
    return figures


def _drawer(supernet: dict[str, Any], subject: str, rows: list[BaselineRow], title: str, detail: str):
    return lambda: baselines_figure(supernet, subject, rows, title, detail)


def run_baselines(directory: Path, metrics: dict[str, Any] | None, label: str) -> list[PlannedFigure | Missing]:
    """The free-baseline figures of a run or a replicate group, and what is missing (with its command)."""
    analyze = ANALYZE.format(dir=directory)
    if metrics is None or not metrics.get("results"):
        return [Missing(TITLE, "no results in metrics.json", analyze)]
    results = _default_first(metrics["results"], metrics.get("config", {}).get("eval", {}))
    items: list[PlannedFigure | Missing] = []
    older = sum("baselines" not in r for r in results)
    if older:
        items.append(Missing(TITLE, f"{older} of {len(results)} results in metrics.json predate the free baselines",
                             analyze))
    none = sum(r.get("baselines") == [] for r in results)
    if none:
        items.append(Missing(TITLE, f"{none} of {len(results)} results have no free baseline (the space's features "
                                    f"give no params or FLOPs and there is no {PROXIES})",
                             PROXIES_COMMAND.format(dir=directory)))
    names = {b["name"] for r in results for b in r.get("baselines", [])}
    if not names - set(COST_BASELINES.values()):
        if (directory / PROXIES).is_file():
            items.append(Missing(PROXIES_TITLE, f"{PROXIES} is newer than metrics.json's baselines", analyze))
        else:
            items.append(Missing(PROXIES_TITLE, f"no {PROXIES} (zero-cost proxies of the scored archs at "
                                                f"initialisation)", PROXIES_COMMAND.format(dir=directory)))
    truth = metrics.get("truth", "the truth")
    groups = any(r.get("replicates", 1) > 1 for r in results)
    who = ("the mean over replicates, replicate-level CI (t on the seed part + the arch parts; seeds random, archs "
           "resampled)" if groups else "one training run")
    labels = result_labels(results, report_score_sets(directory))

    def describe(r: dict[str, Any]) -> str:
        return f"{labels[result_key(r)]}, {r['n_archs']} archs, truth {truth}"

    return [*_figures(results, label, "the supernet", who, RUN_MORAL, describe, leading=1), *items]


def _default_first(results: list[dict[str, Any]], evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """`results` with the run's own evaluation (its eval.bn_policy and eval.finetune_batches at the newest epoch)
    first, the others after it in their order: the figure a reader looks for comes first."""
    newest = max((r["epoch"] for r in results), default=None)

    def is_default(r: dict[str, Any]) -> bool:
        return (r["epoch"] == newest and r.get("bn_policy") == evaluation.get("bn_policy", "recalibrate")
                and (r.get(FINETUNE) or 0) == (evaluation.get("finetune_batches") or 0))

    return sorted(results, key=lambda r: not is_default(r))


def audit_baselines(metrics: dict[str, Any], label: str, rerun: str | None) -> list[PlannedFigure | Missing]:
    """The free-baseline figures of an audit (its first score column against every other score column and free
    baseline), and what is missing (`rerun`: the command that remakes the audit, None where none can)."""
    first = metrics.get("score")
    results = [r for r in metrics.get("results", []) if r.get("score") == first]
    if not results or any("baselines" not in r for r in results):
        return [Missing(TITLE, "the audit was made before audits compared their score with free baselines", rerun)]
    items: list[PlannedFigure | Missing] = []
    if not any(b.get("kind") == FREE for r in results for b in r["baselines"]):
        items.append(Missing(COST_TITLE, no_cost_reason(metrics.get("space"), "features" in metrics), None))

    def describe(r: dict[str, Any]) -> str:
        policy = f", BN {r[BN_POLICY]}" if r[BN_POLICY] != NO_POLICY else ""
        who = f"{r['replicates']} replicate columns" if "members" in r else first
        return f"{who} vs truth {r['truth']}{policy}, {r['n_archs']} archs"

    group = metrics.get("replicated") or []
    members = ", ".join(metrics.get("replicate_cols", []))
    return [*_figures(group, label, "the replicate group", f"the replicate columns {members} as one method, each "
                      f"baseline held fixed", AUDIT_MORAL, describe, "baselines-replicates"),
            *_figures(results, label, first, f"the audit's first score column, {first}", AUDIT_MORAL, describe),
            *items]
