"""The search methods' report (no torch), one page per call of `wsnas search-report DIR [DIR ...]`.

A DIR is a search directory of `wsnas search` (seed-<k>/ runs, and uniform/ with --baseline) or an SNAS sweep
(--lambdas: lambda-<l>/seed-<k>/). Per space it draws the derived arch's true accuracy against search epoch (every
method, with the optimum and random archs as lines), the op share per slot against epoch, the rankings' Kendall
(the method's own, its supernet's, the uniform supernet's), and for each sweep SNAS's accuracy-cost trade-off
against the ground truth's Pareto front; the findings give every method's derived truth, mean and sd over seeds,
beside the published figure.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsnas.analysis.plots import style as plots
from wsnas.analysis.metrics import random_expected_best
from wsnas.analysis.report.pages import Item, Report, Section, report_name, write_pages
from wsnas.analysis.search.figures import (RankingRow, Trajectory, ranking_figure, shares_figure, tradeoff_figure,
                                           trajectory_figure)
from wsnas.analysis.search.results import pareto_front, read_result, seed_runs, space_table, tradeoff_summary
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.search_methods import find_method
from wsnas.benchmarks.truth_lookup import TRUTH_PREFIX
from wsnas.core.atomic import atomic_path
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import CONFIG, SEARCH_LOG, SEARCH_RESULT, SEARCH_SHARES, SNAS_TRADEOFF

RANDOM_SEARCH_ARCHS = 100  # the random-search line: expected best truth of this many random archs


def _label(run: Path) -> str:
    """The method, with its base (GAEA's) and the level when not the method's own."""
    config = json.loads((run / CONFIG).read_text())["config"]
    s = config["search"]
    record = find_method(s["method"])
    label = s["method"] + (f" ({s['gaea_base']})" if record is not None and record.bases else "")
    return label + (f", {s['level']}" if s["level"] != "auto" else "")


def _kendall(document: dict[str, Any], part: str) -> tuple[float, float, float] | None:
    entry = document.get("method_ranking", {}).get(part, {}).get("kendall")
    if not entry or entry.get("value") is None:
        return None
    return entry["value"], entry.get("ci_low"), entry.get("ci_high")


class _Search:
    """One search directory's seed runs and, if present, its uniform baseline's."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runs = seed_runs(directory)
        if not self.runs:
            raise WsnasError(f"{directory} holds no finished search run (seed-<k>/{SEARCH_RESULT}); give directories "
                             f"made by `wsnas search` (their --run-dir)")
        self.results = [read_result(r) for r in self.runs]
        self.label = _label(self.runs[0])
        self.space, self.metric = self.results[0]["space"], self.results[0]["truth_metric"]
        self.uniform = [read_result(r) for r in seed_runs(directory / "uniform")]

    def trajectory(self) -> Trajectory:
        logs = [pd.read_csv(run / SEARCH_LOG) for run in self.runs]
        epochs = np.arange(1, max(len(log) for log in logs) + 1)
        truth = np.full((len(logs), len(epochs)), np.nan)
        for i, log in enumerate(logs):
            truth[i, :len(log)] = log[TRUTH_PREFIX + self.metric].to_numpy()
        return Trajectory(self.label, epochs, truth)

    def shares(self) -> pd.DataFrame:
        return pd.read_csv(self.runs[0] / SEARCH_SHARES, dtype={"choice": str, "slot": str})

    def ranking(self) -> RankingRow | None:
        method = [k for k in (_kendall(r, "method") for r in self.results) if k]
        supernet = [k for k in (_kendall(r, "supernet") for r in self.results) if k]
        uniform = [k for k in (_kendall(r, "supernet") for r in self.uniform) if k]
        return RankingRow(self.label, method, supernet, uniform) if method or supernet else None

    def finding(self) -> str:
        values = np.array([r["derived"]["truth"].get(TRUTH_PREFIX + self.metric) for r in self.results], dtype=float)
        sd = f" ± {values.std(ddof=1):.2f}" if len(values) > 1 else ""
        cpu = np.mean([r["seconds"].get("search_cpu", math.nan) for r in self.results])
        record = find_method(self.results[0]["method"])
        published = record.published if record is not None else None
        ref = ""
        if published:
            ref = f"; published {published.acc:.2f}" + (f" ± {published.sd:.2f}" if published.sd is not None
                                                         else "") + f" ({published.source})"
        keys = ", ".join(sorted({r["derived"]["key"] for r in self.results}))
        return (f"{self.label}: derived arch {self.metric} {np.nanmean(values):.2f}{sd} over {len(values)} seed(s), "
                f"{cpu:.0f} CPU-s of search per seed{ref}. Derived: {keys}")


def _references(space: str, metric: str, mirror: str | None) -> dict[str, float]:
    values = load_ground_truth(space, mirror).frame[metric].dropna().to_numpy()
    return {"optimum": float(values.max()),
            f"random search, best of {RANDOM_SEARCH_ARCHS} archs by truth (expected)":
                random_expected_best(values, RANDOM_SEARCH_ARCHS),
            "a random arch (mean)": float(values.mean())}


def render_search_report(directories: list[str | Path], name: str | None = None, out_root: str | Path = "reports",
                         mirror: str | None = None) -> Report:
    """Draw the search figures of `directories` into OUT_ROOT/<name>/ beside index.html and summary.md."""
    dirs = [Path(d) for d in directories]
    if not dirs:
        raise WsnasError("no directory given; pass search directories made by `wsnas search`")
    sweeps = [d for d in dirs if any(d.glob(f"lambda-*/seed-*/{SEARCH_RESULT}"))]
    searches = [_Search(d) for d in dirs if d not in sweeps]
    out = Path(out_root) / report_name(dirs, name)
    out.mkdir(parents=True, exist_ok=True)
    sections, written = [], set()

    def save(section: Section, stem: str, figure, title: str, caption: str, findings: list[str]) -> None:
        png = out / f"{stem}.png"
        with atomic_path(png) as tmp:
            plots.save(figure, tmp)
        written.add(png.name)
        section.items.append(Item(png, title, caption, findings))

    for space in dict.fromkeys(s.space for s in searches):
        group = [s for s in searches if s.space == space]
        metric = group[0].metric
        section = Section(Path(f"{space} ({', '.join(str(s.directory) for s in group)})"))
        references = _references(space, metric, mirror)
        save(section, f"{space}-trajectory", trajectory_figure([s.trajectory() for s in group], references, metric,
                                                                space),
             "The derived arch's true accuracy against search epoch",
             "After every epoch each method's derived arch (argmax of its arch weights; ENAS: the controller's "
             "greedy arch; RSPS: the best one-batch accuracy of its candidates) is looked up in the ground truth; "
             "line: mean over search seeds, band: min..max. Black lines: the space's optimum, the expected best "
             f"truth of {RANDOM_SEARCH_ARCHS} random archs, and the mean of a random arch.",
             [s.finding() for s in group])
        save(section, f"{space}-shares", shares_figure([(s.label, s.shares()) for s in group], space),
             "Op share per slot against search epoch",
             "Each choice's probability in each slot under the method's arch distribution (ENAS: the controller's "
             "marginals, estimated from samples; RSPS: uniform), first search seed.", [])
        rankings = [r for r in (s.ranking() for s in group) if r]
        if rankings:
            save(section, f"{space}-ranking", ranking_figure(rankings, metric, space),
                 "The methods' rankings against the ground truth",
                 "Kendall τ with 95% bootstrap CIs over the evaluated archs (one point per search seed): the method's "
                 "own ranking (log-probability of its arch distribution; ENAS: controller log-likelihood; RSPS: its "
                 "one-batch accuracy), its supernet's (wsnas evaluate: BN recalibration, held-out images) and the "
                 "uniform supernet's of the same budget (wsnas search --baseline).", [])
        sections.append(section)
    for sweep in sweeps:
        tradeoff_summary(sweep)
        derived = pd.DataFrame(json.loads((sweep / SNAS_TRADEOFF).read_text())["rows"])
        space, metric = derived["space"].iloc[0], derived["truth_metric"].iloc[0]
        table = space_table(space, metric, mirror)
        cost = "params_M"
        section = Section(sweep)
        save(section, f"{report_name([sweep], None)}-tradeoff",
             tradeoff_figure(table, pareto_front(table[cost].to_numpy(), table["truth"].to_numpy()), derived, cost,
                             metric, space),
             "SNAS's resource trade-off", "The derived arch of each SNAS run of the sweep (colour: the penalty "
             "weight λ of λ·E[params_M]) at its true accuracy and cost, over every arch of the space and the "
             "ground truth's Pareto front (no arch is both cheaper and more accurate than a point on it).",
             [f"λ = {r['lambda']:g}, seed {r['seed']}: {r['derived']} {metric} {r['truth']:.2f}, "
              f"{r['params_M']:.3f} M params" for r in derived.to_dict("records")])
        sections.append(section)
    for stale in out.glob("*.png"):
        if stale.name not in written:
            stale.unlink()
    return write_pages(out, sections)

