"""What `wsnas report` draws for an audit or a benchmark-correlation directory (no torch).

An audit (wsnas.analysis.audit.run) gets, from its joined.csv and metrics.json: the scatter of every (score, truth)
pair with Kendall and Spearman (95% CIs), the exact top-k curves of every pair, the Kendall heat map of scores x
truths (with several pairs), its first score column against the free baselines and its other score columns
(wsnas.analysis.report.baselines), and, when its space is registered (built in, or a plugin's, re-imported from the
audit's saved --plugin list) and gives features, the bias and operator figures of its first pair (from
AUDIT/studies/*.json when `wsnas studies` wrote them, else computed here). Axes of lower-is-better columns are
reversed, so better is always right and up. A correlation directory gets its heat map. Whatever cannot be drawn is
listed with the reason, and with a command only where that command works on this directory.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from wsnas.analysis.audit.tables import BN_POLICY, NO_POLICY, SCORE, TRUTH
from wsnas.analysis.correlate import heatmap
from wsnas.analysis.direction import Column, decimals_for, value_text
from wsnas.analysis.metrics import random_expected_best, topk_best_truth
from wsnas.analysis.pair_grid import PairGrid, grid_from_results
from wsnas.analysis.plots.pairs import TopkPanel, heatmap_figure, topk_curve_figure
from wsnas.analysis.plots.scatter import ScatterPanel, scatter_figure
from wsnas.analysis.plots.style import as_number, ci_text
from wsnas.analysis.report.baselines import audit_baselines
from wsnas.analysis.report.pages import Missing, PlannedFigure, Verdict
from wsnas.analysis.report.reading import read_study
from wsnas.analysis.studies import registry
from wsnas.analysis.studies.audit import audit_columns, audit_study_docs, read_joined
from wsnas.analysis.studies.inputs import StudyError
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import METRICS, SUPERNET_ACC
from wsnas.core.runs import RunDir


def audit_plan(directory: Path, label: str) -> tuple[list[PlannedFigure], list[Missing]]:
    """The figures of an audit or correlation directory, and what is missing."""
    run = RunDir(directory)
    tree = run.saved_tree()
    if tree.get("kind") == "correlate":
        return _correlate_plan(directory)
    try:
        metrics = json.loads((directory / METRICS).read_text())
        joined = read_joined(directory)
        scores, truths = audit_columns(tree, "score"), audit_columns(tree, "truth")
        if not scores or not truths:
            raise StudyError("its config.json lists no columns")
    except (OSError, ValueError, WsnasError) as exc:
        return [], [Missing("figures of the audit", f"the audit was made by an older wsnas or is incomplete ({exc})",
                            rerun_command(tree, directory))]
    scores = [Column.from_dict(c) for c in (metrics.get("columns") or {}).get("scores", [])] or scores  # + baselines
    columns = {**{("score", c.name): c for c in scores}, **{("truth", c.name): c for c in truths}}
    results = metrics["results"]
    cols = len(truths) if 2 <= len(truths) <= 4 else 3  # scores down, truths across
    figures = [_scatter(results, joined, columns, label, cols), _topk(results, joined, columns, label, cols)]
    if len(scores) * len(truths) > 1:
        names = {c.name: f"{c.name}\n(lower is better)" for c in (*scores, *truths) if c.lower_is_better}
        figures += [_heatmap(results, [c.name for c in scores], [c.name for c in truths], policy, label, names)
                    for policy in dict.fromkeys(r[BN_POLICY] for r in results)]
    baselines = audit_baselines(metrics, label, rerun_command(tree, directory))
    figures = [b for b in baselines if isinstance(b, PlannedFigure)] + figures  # the verdicts first
    missing = [b for b in baselines if isinstance(b, Missing)]
    for name in registry.for_audit():
        item = _audit_study(directory, name, label)
        (figures if isinstance(item, PlannedFigure) else missing).append(item)
    return figures, missing


# ----------------------------------------------------------------------------------------------- pieces

def _axis(column: Column, side: str) -> str:
    unit = f" ({column.unit})" if column.unit else ""
    turned = "; axis reversed: lower is better" if column.lower_is_better else ""
    return f"{side}: {column.name}{unit}{turned}"


def _pair_label(result: dict[str, Any]) -> str:
    policy = f", BN {result[BN_POLICY]}" if result[BN_POLICY] != NO_POLICY else ""
    return f"{result['score']} vs {result['truth']}{policy}"


def _pair_rows(joined, result: dict[str, Any]):
    return joined[joined[BN_POLICY] == result[BN_POLICY]]


def _finding(result: dict[str, Any], truth: Column, decimals: int) -> str:
    parts = [_pair_label(result) + f" ({result['n_archs']} archs)"]
    for name, symbol in (("kendall", "tau"), ("spearman", "rho")):
        entry = result.get(name) or {}
        parts.append(ci_text(symbol, as_number(entry), entry.get("ci_low"), entry.get("ci_high")))
    top = next((t for t in result["topk"] if t["label"] == "10"), None)
    if top:
        best, rand, oracle = (value_text(top[c], truth.unit, decimals)
                              for c in ("supernet_best", "random_expected_best", "oracle_best"))
        parts.append(f"best truth in the score's top-10 {best} vs a random 10 {rand} (oracle {oracle})")
    return "; ".join(parts)


def _scatter(results, joined, columns, label: str, cols: int) -> PlannedFigure:
    panels = []
    for r in results:
        score, truth = columns[("score", r["score"])], columns[("truth", r["truth"])]
        rows = _pair_rows(joined, r)
        panels.append(ScatterPanel(_pair_label(r), rows[TRUTH + truth.name].to_numpy(),
                                         rows[SCORE + score.name].to_numpy(), r, _axis(truth, "truth"),
                                         _axis(score, "score"), truth.lower_is_better, score.lower_is_better))
    findings = [_finding(r, columns[("truth", r["truth"])], decimals_for(joined[TRUTH + r["truth"]])) for r in results]
    return PlannedFigure("scatter", "Scores against the ground truth",
                   "Each point is one arch of the audit; one panel per (score, truth) pair, with Kendall tau and "
                   "Spearman rho (95% bootstrap CIs) and the seed-noise ceiling where per-seed truth columns were "
                   "given. Axes of lower-is-better columns are reversed, so a perfect ranking is a rising line.",
                   findings, lambda: scatter_figure(panels, "", label, "scores vs ground truth", cols))


def _k_grid(n: int) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, n, num=min(n, 16))).astype(int))


def _topk(results, joined, columns, label: str, cols: int) -> PlannedFigure:
    panels, findings = [], []
    for r in results:
        score, truth = columns[("score", r["score"])], columns[("truth", r["truth"])]
        rows = _pair_rows(joined, r)
        x, y = score.orient(rows[SCORE + score.name]), truth.orient(rows[TRUTH + truth.name])
        ks = _k_grid(len(y))
        best = np.array([truth.restore(topk_best_truth(x, y, int(k))) for k in ks])
        rand = np.array([truth.restore(random_expected_best(y, int(k))) for k in ks])
        unit = f" ({truth.unit})" if truth.unit else ""
        panels.append(TopkPanel(_pair_label(r), ks, best, rand, truth.restore(float(y.max())), truth.name + unit,
                                truth.lower_is_better))
        beats = int(np.sum(np.where(truth.lower_is_better, best < rand, best > rand)))
        findings.append(f"{_pair_label(r)}: the score's top k beats a random k at {beats} of {len(ks)} k")
    return PlannedFigure("topk", "Top-k: each score against a random pick and the oracle",
                   "For every k of a geometric grid: the best truth among the score's top k (exact expectation over "
                   "score ties), the exact expected best of k archs picked at random, and the best of all archs "
                   "(oracle), all in the truth's units; reversed axes where lower is better.",
                   findings, lambda: topk_curve_figure(panels, label, cols))


def _heatmap(results, scores: list[str], truths: list[str], policy: str, label: str,
             names: dict[str, str]) -> PlannedFigure:
    grid = grid_from_results([r for r in results if r[BN_POLICY] == policy], scores, truths)
    where = f" (BN {policy})" if policy != NO_POLICY else ""
    suffix = f"-{policy}" if policy != NO_POLICY else ""
    return PlannedFigure(f"heatmap{suffix}", f"Kendall tau of every score against every truth{where}",
                   "Kendall tau-b of each score column (rows) against each truth column (columns), both oriented so "
                   "that +1 means the score orders the archs as the truth does; 95% bootstrap CIs under the values.",
                   _grid_findings(grid),
                   lambda: heatmap_figure(grid, f"{label}{where}", row_label="score", col_label="truth", names=names),
                   kind="heatmap")


def _grid_findings(grid: PairGrid) -> list[str]:
    rows = sorted((r for r in grid.records() if r["a"] != r["b"] and np.isfinite(r["kendall"])),
                  key=lambda r: -r["kendall"])
    if not rows:
        return []
    text = [f"{r['a']} vs {r['b']}: tau {r['kendall']:+.3f} [{r['kendall_ci_low']:+.3f}, {r['kendall_ci_high']:+.3f}] "
            f"over {r['n']} archs" for r in (rows[0], rows[-1])]
    return [f"highest: {text[0]}", f"lowest: {text[1]}"] if len(rows) > 1 else text[:1]


def _audit_study(directory: Path, name: str, label: str) -> PlannedFigure | Missing:
    """The bias or operator figure of an audit: its studies/<name>.json (`wsnas studies` on any pair), else
    computed here on its first pair."""
    study = registry.study(name)
    title, caption = study.title, study.caption
    doc = read_study(directory, name)
    if doc is None:
        try:
            doc = audit_study_docs(directory, [name])[name]
        except WsnasError as exc:
            return Missing(title, str(exc), None)
    if doc.get("available") is False:
        return Missing(title, doc.get("unavailable_because", "the study is unavailable for this audit"), None)
    pair = f" Pair: score {doc.get('score', '?')} vs truth {doc['truth']}; both oriented so that higher is better."
    return PlannedFigure(name, title, caption + pair, list(doc.get("findings", [])),
                         lambda: study.draw(doc, label, directory),
                         verdict=Verdict(title, study.verdict(doc)) if study.verdict(doc) else None)


def _correlate_plan(directory: Path) -> tuple[list[PlannedFigure], list[Missing]]:
    try:
        doc = json.loads((directory / "pairs.json").read_text())
    except (OSError, ValueError) as exc:
        return [], [Missing("heat map of the correlations", f"pairs.json cannot be read ({exc})", None)]
    grid = PairGrid.from_dict(doc)
    archs = max((c["n"] for c in grid.cells.values()), default=0)
    return [PlannedFigure("heatmap", "Ground-truth columns ranked against each other",
                    "Kendall tau-b between every pair of the space's ground-truth columns (and size columns) over "
                    "the sampled archs; the 95% bootstrap CIs are in pairs.csv.", _grid_findings(grid),
                    lambda: heatmap(grid, doc["space"], archs))], []


# ------------------------------------------------------------------------------------------ rerunning

def rerun_command(tree: dict[str, Any], directory: Path) -> str | None:
    """The `wsnas audit` that remakes an audit from its config.json into a new directory (DIR-rerun), None when
    the saved config does not name the scores file."""
    config, audit = tree.get("config") or {}, tree.get("audit") or {}
    scores, truth = audit.get("scores") or {}, audit.get("truth") or {}
    if not scores.get("path"):
        return None
    score_cols = scores.get("columns") or [{"name": scores.get("score_col", SUPERNET_ACC)}]
    truth_cols = truth.get("columns") or [{"name": truth.get("truth_col", "accuracy")}]
    parts = ["--scores", scores["path"], *(["--truth", truth["path"]] if truth.get("path") else []),
             "--key-col", scores.get("key_col", "key"), "--score-col", ",".join(c["name"] for c in score_cols),
             "--truth-col", ",".join(c["name"] for c in truth_cols)]
    if truth.get("path") and truth.get("key_col", scores.get("key_col")) != scores.get("key_col", "key"):
        parts += ["--truth-key-col", truth["key_col"]]
    sides = [("score", c) for c in score_cols] + [("truth", c) for c in truth_cols]
    lower = [f"{side}:{c['name']}" for side, c in sides if c.get("direction") == "lower"]
    parts += ["--lower-is-better", ",".join(lower)] if lower else []
    parts += [arg for side, c in sides if c.get("unit") for arg in ("--unit", f"{side}:{c['name']}={c['unit']}")]
    parts += [arg for c in truth_cols if c.get("sparse_tol") is not None
              for arg in ("--sparse-tol", f"{c['name']}={c['sparse_tol']!r}")]
    parts += [arg for name, seeds in (truth.get("seeds") or {}).items() if seeds
              for arg in ("--truth-seeds", f"{name}={','.join(seeds)}")]
    for option, key in (("--sep", "sep"), ("--truth-sep", "sep")):
        record = scores if option == "--sep" else truth
        if record.get(key):
            parts += [option, record[key]]
    analysis = config.get("analysis") or {}
    if analysis.get("topk"):
        parts += ["--topk", ",".join(f"{k * 100:g}%" if isinstance(k, float) else str(k) for k in analysis["topk"])]
    for option, key in (("--n-boot", "n_boot"), ("--seed", "seed")):
        if analysis.get(key) is not None:
            parts += [option, str(analysis[key])]
    if config.get("space") and config["space"] != "custom":
        parts += ["--space", config["space"]]
    for plugin in config.get("plugins") or []:
        parts += ["--plugin", plugin]
    features = audit.get("features") or {}
    parts += ["--features", features["path"], "--features-key-col", features["key_col"]] if features else []
    parts += ["--out", f"{directory}-rerun"]
    return "wsnas audit " + " ".join(shlex.quote(p) for p in parts)
