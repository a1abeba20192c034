"""What `wsnas report` shows for a run, a replicate group or a study directory (no torch): the free baselines
(wsnas.analysis.report.baselines), the scatter of supernet against true accuracy, and the figure of every study
of the registry (wsnas.analysis.studies.registry) whose document is there; what is missing is listed with the
command that would produce it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from wsnas.analysis.plots.scatter import ScatterPanel, scatter_figure
from wsnas.analysis.plots.style import as_number, ci_text
from wsnas.analysis.report.baselines import run_baselines
from wsnas.analysis.report.pages import Missing, PlannedFigure, Verdict
from wsnas.analysis.report.reading import ANALYZE, EVALUATE, is_run, read_metrics, read_study
from wsnas.analysis.report.score_sets import report_score_sets, result_key, result_labels
from wsnas.analysis.studies import registry
from wsnas.analysis.studies.record import STUDY_DIR, Study
from wsnas.analysis.verdicts import common_groups, load_tables, select_group, supernet_set, truth_labels_line
from wsnas.core.errors import WsnasError
from wsnas.core.groups import runs_of
from wsnas.core.run_files import GROUP_KEYS


def run_plan(directory: Path, label: str, mirror: str | None) -> tuple[list[PlannedFigure], list[Missing]]:
    """The figures of a run, a replicate group or a study directory, and what is missing."""
    candidates: list[PlannedFigure | Missing | None] = []
    if is_run(directory):
        candidates += run_baselines(directory, read_metrics(directory), label)
        candidates.append(_scatter(directory, label, mirror))
    candidates += [study_figure(directory, study, label) for study in registry.studies()]
    figures = [c for c in candidates if isinstance(c, PlannedFigure)]
    return figures, [c for c in candidates if isinstance(c, Missing)]


def _metrics_line(result: dict[str, Any], label: str) -> str:
    parts = [f"{label}, {result['n_archs']} archs: mean supernet accuracy {result['mean_supernet_acc']:.2f}%"]
    for name, symbol in (("kendall", "tau"), ("spearman", "rho")):
        entry = result.get(name) or {}
        parts.append(ci_text(symbol, as_number(entry), entry.get("ci_low"), entry.get("ci_high")))
    top10 = next((t for t in result.get("topk", []) if t.get("label") == "10"), None)
    if top10:
        parts.append(f"best true accuracy of the supernet's top-10 {top10['supernet_best']:.2f}% vs random "
                     f"{top10['random_expected_best']:.2f}% (oracle {top10['oracle_best']:.2f}%)")
    return "; ".join(parts)



def _scatter(directory: Path, label: str, mirror: str | None) -> PlannedFigure | Missing:
    what = "scatter of supernet vs true accuracy"
    try:
        runs = runs_of(directory)
    except WsnasError as exc:
        return Missing(what, str(exc), None)
    if not all(run.scores_path.is_file() for run in runs):
        return Missing(what, "the run has no scores.csv", EVALUATE.format(dir=directory))
    metrics = read_metrics(directory)
    try:
        data = load_tables(directory, metrics["truth"] if metrics else None, mirror)
    except WsnasError as exc:
        return Missing(what, f"the ground truth could not be joined: {exc}", None)
    results = {result_key(r): r for r in (metrics or {}).get("results", [])}
    groups = [dict(zip(GROUP_KEYS, group)) for group in common_groups(data.tables)]
    labels = result_labels([*results.values(), *groups], report_score_sets(directory))
    panels = []
    for group in groups:
        parts = [select_group(t, tuple(group.values())) for t in data.tables]
        scores = supernet_set(parts, data.members)
        mean = ", mean of the replicates" if scores.replicates > 1 else ""
        panels.append(ScatterPanel(labels[result_key(group)] + mean, data.truth.values(data.metric, list(scores.keys)),
                                   scores.scores.mean(axis=0), results.get(result_key(group), {})))
    findings = truth_labels_line((metrics or {}).get("truth_labels_used", 0))
    findings += [_metrics_line(r, labels[key]) for key, r in results.items()]
    if metrics is None:
        findings.append(f"no metrics.json, so no correlations: run `{ANALYZE.format(dir=directory)}`")
    return PlannedFigure("scatter", "Supernet accuracy against true accuracy",
                   f"Each point is one evaluated arch (for a replicate group: its mean score over the replicates); "
                   f"tau/rho with 95% CIs from metrics.json (for a group: the mean over replicates with its "
                   f"replicate-level CI, seeds random and archs resampled; truth: {data.metric}), and the ceiling where metrics.json has one: the Kendall "
                   f"that the best predictor free of the benchmark's seed noise can expect against this truth column "
                   f"(its reliability), else how well one benchmark training run ranks another.", findings,
                   lambda: scatter_figure(panels, data.metric, label))


def study_figure(directory: Path, study: Study, label: str) -> PlannedFigure | Missing | None:
    """The figure of one study, Missing when its data are absent or unusable, None when not expected here."""
    doc = read_study(directory, study.name)
    title, caption = study.title, study.caption
    command = study.producer.format(dir=directory)
    if doc is None:
        if not is_run(directory) and STUDY_DIR not in study.applies_to:
            return None
        return Missing(title, f"no studies/{study.name}.json", command)
    if doc.get("available") is False:
        return Missing(title, doc.get("unavailable_because", "the study is unavailable for this directory"), None)
    if not doc["rows"]:
        return Missing(title, f"studies/{study.name}.json has no rows", command)
    reason = study.undrawable(doc)
    if reason is not None:
        return Missing(title, reason, command)
    return PlannedFigure(study.name, title, caption, list(doc.get("findings", [])),
                         lambda: study.draw(doc, label, directory),
                         verdict=Verdict(title, study.verdict(doc)) if study.verdict(doc) else None)
