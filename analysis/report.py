"""`wsnas report DIR [DIR ...]`: one self-contained HTML page and a Markdown summary of runs and studies.

    reports/<name>/index.html   every figure embedded as a base64 PNG, CSS inline: open it anywhere
    reports/<name>/summary.md   the same text, linking the PNG files beside it
    reports/<name>/*.png

A DIR is a run directory (config.json, scores.csv, metrics.json, studies/*.json), a study directory
(studies/*.json only, e.g. the pruning study's), an audit or a benchmark-correlation directory
(wsnas.analysis.audit_report). Only figures whose data exist are drawn; the report lists
what is missing and the command that would produce it. No torch.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from matplotlib.figure import Figure
from tqdm.auto import tqdm

from wsnas.analysis import plots
from wsnas.analysis.compare import FINETUNE, SCORE_SET
from wsnas.analysis.studies import STUDIES
from wsnas.analysis.verdicts import common_groups, load_tables, select_group, supernet_set
from wsnas.core.atomic import atomic_path, write_text
from wsnas.core.errors import WsnasError
from wsnas.core.groups import is_group, runs_of
from wsnas.core.runs import RunDir
from wsnas.core.score_sets import LEGACY

# What produces each piece of data; {dir} is the directory the report was given.
PRODUCERS: dict[str, str] = {
    "scores": "wsnas evaluate {dir}",
    "metrics": "wsnas analyze {dir}",
    "epochs": "wsnas evaluate {dir} --set eval.epochs=[5,10,15,20] && wsnas studies {dir} --only epochs",
    "topk": "wsnas studies {dir} --only topk",
    "bias": "wsnas studies {dir} --only bias",
    "operators": "wsnas studies {dir} --only operators",
    "pruning": "wsnas prune-study --out PRUNING_DIR && wsnas report {dir} PRUNING_DIR",
    "finetune": "wsnas finetune-study {dir}",
    "noise": "wsnas noise-study {dir}",
}
RUN_ONLY = ("scatter", *STUDIES, "finetune", "noise")  # what only a run directory (or a group) can have
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ReportError(WsnasError):
    """A report that cannot be made from the given directories or options."""


@dataclass
class Item:
    """One figure of the report: its PNG, title, caption and the findings written under it."""

    png: Path
    title: str
    caption: str
    findings: list[str] = field(default_factory=list)


@dataclass
class Missing:
    """A figure left out: what, why, and the command that would produce its data (None: nothing can)."""

    what: str
    reason: str
    command: str | None


@dataclass
class Section:
    """Everything the report shows for one directory."""

    directory: Path
    items: list[Item] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)


# -------------------------------------------------------------------------------------------- the data

def read_study(directory: Path, name: str) -> dict[str, Any] | None:
    """DIRECTORY/studies/<name>.json, or None when absent."""
    path = directory / "studies" / f"{name}.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}); rerun the study that wrote it") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise ReportError(f"{path} lacks a 'rows' list; it was not written by a wsnas study, rerun the study")
    return doc


def _read_metrics(run: RunDir) -> dict[str, Any] | None:
    if not run.metrics_path.is_file():
        return None
    try:
        return json.loads(run.metrics_path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{run.metrics_path} is not valid JSON ({exc}); rerun `wsnas analyze {run.path}`") from None


def _finetuned(batches: int) -> str:
    """', fine-tuned N batches' for fine-tuned scores, '' for plain ones."""
    return f", fine-tuned {batches} batches" if batches else ""


def _metrics_line(result: dict[str, Any]) -> str:
    parts = [f"epoch {result['epoch']}, {result['bn_policy']}{_finetuned(result.get(FINETUNE, 0))}, "
             f"{result['n_archs']} archs: mean supernet accuracy {result['mean_supernet_acc']:.2f}%"]
    for name, symbol in (("kendall", "tau"), ("spearman", "rho")):
        entry = result.get(name) or {}
        parts.append(plots.ci_text(symbol, plots.as_number(entry), entry.get("ci_low"), entry.get("ci_high")))
    top10 = next((t for t in result.get("topk", []) if t.get("label") == "10"), None)
    if top10:
        parts.append(f"best true accuracy of the supernet's top-10 {top10['supernet_best']:.2f}% vs random "
                     f"{top10['random_expected_best']:.2f}% (oracle {top10['oracle_best']:.2f}%)")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------ the figures

@dataclass
class _Figure:
    """A figure to draw: file stem, title, caption, findings and how to draw it."""

    stem: str
    title: str
    caption: str
    findings: list[str]
    draw: Callable[[], Figure]


def _is_run(directory: Path) -> bool:
    """A run directory or a replicate group (what `wsnas study` makes)."""
    return RunDir(directory).config_path.is_file() or is_group(directory)


def _scatter(directory: Path, label: str, mirror: str | None) -> _Figure | Missing:
    what = "scatter of supernet vs true accuracy"
    try:
        runs = runs_of(directory)
    except WsnasError as exc:
        return Missing(what, str(exc), None)
    if not all(run.scores_path.is_file() for run in runs):
        return Missing(what, "the run has no scores.csv", PRODUCERS["scores"].format(dir=directory))
    metrics = _read_metrics(RunDir(directory))
    try:
        data = load_tables(directory, metrics["truth"] if metrics else None, mirror)
    except WsnasError as exc:
        return Missing(what, f"the ground truth could not be joined: {exc}", None)
    results = {(r["epoch"], r["bn_policy"], r.get(FINETUNE, 0), r.get(SCORE_SET, LEGACY)): r
               for r in (metrics or {}).get("results", [])}
    panels = []
    for group in common_groups(data.tables):
        parts = [select_group(t, group) for t in data.tables]
        scores = supernet_set(parts, data.members)
        epoch, policy, batches, _ = group
        mean = " (mean of the replicates)" if scores.replicates > 1 else ""
        panels.append(plots.ScatterPanel(f"epoch {epoch}, BN {policy}{_finetuned(batches)}{mean}",
                                         data.truth.values(data.metric, list(scores.keys)), scores.scores.mean(axis=0),
                                         results.get(group, {})))
    findings = [_metrics_line(r) for r in results.values()]
    if metrics is None:
        findings.append(f"no metrics.json, so no correlations: run `{PRODUCERS['metrics'].format(dir=directory)}`")
    return _Figure("scatter", "Supernet accuracy against true accuracy",
                   f"Each point is one evaluated arch (for a replicate group: its mean score over the replicates); "
                   f"tau/rho with 95% CIs from metrics.json (for a group: the mean over replicates with its "
                   f"replicate-level CI, seeds random and archs resampled; truth: {data.metric}), and the ceiling where metrics.json has one: the Kendall "
                   f"that the best predictor free of the benchmark's seed noise can expect against this truth column "
                   f"(its reliability), else how well one benchmark training run ranks another.", findings,
                   lambda: plots.scatter_figure(panels, data.metric, label))


def _final_ceiling(directory: Path) -> dict[str, float]:
    """The seed-noise ceiling of the newest result in metrics.json ({} when there is none)."""
    results = (_read_metrics(RunDir(directory)) or {}).get("results", [])
    return plots.ceiling_kendall(results[-1].get("ceiling")) if results else {}


STUDY_FIGURES: dict[str, tuple[str, str]] = {
    "epochs": ("Ranking against training length",
               "Kendall and Spearman correlation with the ground truth (95% bootstrap CIs) at each scored checkpoint, "
               "on the archs scored at every epoch; dashed: Kendall tau between the supernet's rankings at "
               "successive checkpoints; dotted: the ceilings from metrics.json (the bound for any predictor against "
               "the truth column, and benchmark runs ranking each other); orange (right axis): "
               "mean supernet accuracy."),
    "topk": ("Top-k: supernet against random and oracle",
             "Over repeated seeded draws of archs from the evaluated set: best true accuracy among the supernet's "
             "top k, the exact expected best of k random archs, and the draw's best (oracle); bands: 5-95% of "
             "draws. Right: how often the supernet's top-10 holds an arch of the whole space's top-10% / top-1%."),
    "bias": ("Bias towards large models",
             "Left: Kendall tau (95% bootstrap CI over archs) between parameter count, ground truth and supernet "
             "score. Right: each size statistic (tau with the cost proxy; partial Spearman of supernet and cost "
             "given the truth, > 0 = larger archs ranked higher than the truth ranks them) against the band of an "
             "unbiased scorer: the supernet's scores permuted among archs of near-equal truth (grey: 95% of such "
             "scorers, light = all statistics at once, which decides a finding). Outside the band (red) is a size "
             "bias; inside, there is no evidence of one."),
    "operators": ("Operator bias",
                  "The supernet's rank percentile regressed on the true rank percentile plus op counts (left, per "
                  "op) or one dummy per edge and op (right): the percentile points the supernet gives an arch for "
                  "an op, against the average op, at equal true rank (> 0: over-rated). Grey (left) and the boxes "
                  "(right, marked *): outside the 95% band of an unbiased scorer, the supernet's scores permuted among "
                  "archs of near-equal truth (light grey = all effects at once, which decides a finding)."),
    "pruning": ("Search-space pruning by the supernet",
                "The supernet prunes the space (optimistic) or archs are pruned at random: the remaining pool's "
                "mean true accuracy, the best true accuracy of 10 picked from it, and Kendall tau on it."),
    "finetune": ("Effect of fine-tuning each subnet before scoring",
                 "Rank correlation with the ground truth (95% CIs) and mean supernet accuracy against the number "
                 "of fine-tuning batches per subnet; right: the cost per subnet."),
    "noise": ("Noise budget of Kendall tau",
              "Left: the variance components of Kendall tau as sds (training seed: between replicates, net of the "
              "seed x arch, seed x image and calibration parts it holds; calibration batches: between calibration "
              "draws; arch sample and held-out images: the bootstrap's covariance between replicates (shared) and "
              "the rest of one replicate's (seed x ...)), with their share of the variance. Right: the predicted 95% CI width of the mean Kendall over replicates, per number of "
              "archs (wsnas noise-study; analysis/noise.py explains the projection)."),
}
DRAWERS: dict[str, Callable[..., Figure]] = {
    "epochs": plots.epochs_figure, "topk": plots.topk_figure, "bias": plots.bias_figure,
    "operators": plots.operator_figure, "pruning": plots.pruning_figure, "finetune": plots.finetune_figure,
    "noise": plots.noise_figure,
}


def _study(directory: Path, name: str, label: str) -> _Figure | Missing | None:
    """The figure of one study, Missing when its data are absent or unusable, None when not expected here."""
    doc = read_study(directory, name)
    is_run = _is_run(directory)
    title, caption = STUDY_FIGURES[name]
    command = PRODUCERS[name].format(dir=directory)
    if doc is None:
        if not is_run and name in RUN_ONLY:
            return None
        return Missing(title, f"no studies/{name}.json", command)
    if doc.get("available") is False:
        return Missing(title, doc.get("unavailable_because", "the study is unavailable for this directory"), None)
    if not doc["rows"]:
        return Missing(title, f"studies/{name}.json has no rows", command)
    if name == "epochs" and len(doc["rows"]) < 2:
        return Missing(title, f"only epoch {doc['rows'][0]['epoch']} was scored", command)
    extra = {"ceiling": _final_ceiling(directory)} if name == "epochs" else {}
    return _Figure(name, title, caption, list(doc.get("findings", [])),
                   lambda: DRAWERS[name](doc, label, **extra))


def _across_spaces(dirs: list[Path]) -> _Figure | None:
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
    return _Figure("spaces", "Across search spaces",
                   "Left: Kendall tau (95% CI; mean over replicates where there are several) against the fraction of "
                   "the supernet's training done, per space. Right: the best true accuracy among the supernet's "
                   "top k minus that of k random archs, mean over draws. Each space against its own benchmark.",
                   findings, lambda: plots.spaces_figure(epochs, topk))


def _plan(directory: Path, mirror: str | None) -> tuple[list[_Figure], list[Missing]]:
    label = directory.resolve().name
    if RunDir(directory).kind in ("audit", "correlate"):  # no supernet run: figures of their own
        from wsnas.analysis.audit_report import audit_plan  # which builds on this module

        return audit_plan(directory, label)
    candidates: list[_Figure | Missing | None] = []
    if _is_run(directory):
        from wsnas.analysis.baseline_report import run_baselines  # which builds on this module

        candidates += run_baselines(directory, _read_metrics(RunDir(directory)), label)
        candidates.append(_scatter(directory, label, mirror))
    candidates += [_study(directory, name, label) for name in DRAWERS]
    figures = [c for c in candidates if isinstance(c, _Figure)]
    return figures, [c for c in candidates if isinstance(c, Missing)]


# -------------------------------------------------------------------------------------------- rendering

def _check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise ReportError(f"{directory} is not a directory; give a run directory or a study directory")
    if not _is_run(directory) and not any((directory / "studies").glob("*.json")):
        raise ReportError(f"{directory} is neither a wsnas run (no config.json) nor a study directory (no "
                          f"studies/*.json); give a directory made by `wsnas study` or a study command")


def report_name(directories: list[Path], name: str | None) -> str:
    """--name, or the directories' names joined; a plain file name (letters, digits, . _ -)."""
    if name is None:
        name = "+".join(d.resolve().name for d in directories)
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "report"
    if not NAME_PATTERN.match(name):
        raise ReportError(f"--name {name!r} must be a plain folder name (letters, digits, '.', '_', '-', not "
                          f"starting with '.' or '-'), e.g. --name nb201-cpu")
    return name


def _save_png(fig: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        plots.save(fig, tmp)


@dataclass
class Report:
    """A rendered report: its two pages and what each directory contributed or lacked."""

    index: Path
    summary: Path
    sections: list[Section]


def render_report(directories: list[str | Path], name: str | None = None, out_root: str | Path = "reports",
                  mirror: str | None = None, progress: bool = True) -> Report:
    """Draw the figures of every directory into OUT_ROOT/<name>/ beside index.html and summary.md."""
    dirs = [Path(d) for d in directories]
    if not dirs:
        raise ReportError("no directory given; pass one or more run or study directories")
    for d in dirs:
        _check_directory(d)
    out = Path(out_root) / report_name(dirs, name)
    out.mkdir(parents=True, exist_ok=True)
    plans = [(d, *_plan(d, mirror)) for d in dirs]
    sections, written = [], set()
    bar = tqdm(total=sum(len(f) for _, f, _ in plans), desc="report", unit="figure", disable=not progress)
    with bar:
        for i, (directory, figures, missing) in enumerate(plans):
            prefix = "" if len(dirs) == 1 else f"{i + 1}-{report_name([directory], None)}-"
            section = Section(directory, missing=missing)
            for f in figures:
                png = out / f"{prefix}{f.stem}.png"
                _save_png(f.draw(), png)
                written.add(png.name)
                section.items.append(Item(png, f.title, f.caption, f.findings))
                bar.update(1)
            sections.append(section)
    for stale in out.glob("*.png"):
        if stale.name not in written:
            stale.unlink()
    across = _across_spaces(dirs)
    if isinstance(across, _Figure):
        png = out / f"{across.stem}.png"
        _save_png(across.draw(), png)
        written.add(png.name)
        sections.insert(0, Section(Path("all directories"), items=[Item(png, across.title, across.caption,
                                                                        across.findings)]))
    return write_pages(out, sections)


def write_pages(out: Path, sections: list[Section]) -> Report:
    """OUT/index.html and OUT/summary.md of `sections`, whose PNGs are in OUT already."""
    report = Report(out / "index.html", out / "summary.md", sections)
    write_text(report.summary, _markdown(sections))
    write_text(report.index, _html(sections, out.name))
    return report


def _markdown(sections: list[Section]) -> str:
    lines = ["# wsnas report", "", f"Generated {_now()} from: " + ", ".join(f"`{s.directory}`" for s in sections), ""]
    for s in sections:
        lines += [f"## {s.directory}", ""]
        for item in s.items:
            lines += [f"### {item.title}", "", f"![{item.title}]({item.png.name})", "", item.caption, ""]
            lines += [f"- {f}" for f in item.findings] + ([""] if item.findings else [])
        if s.missing:
            lines += ["### Not in this report", "", "| figure | why | command |", "|---|---|---|"]
            lines += [f"| {_cell(m.what)} | {_cell(m.reason)} | {f'`{_cell(m.command)}`' if m.command else '-'} |"
                      for m in s.missing]
            lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (arch strings contain '|')."""
    return text.replace("|", "\\|").replace("\n", " ")


CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; } h2 { border-bottom: 1px solid #bbb; margin-top: 2em; }
figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.95em; margin-top: 0.4em; }
ul.findings li { margin: 0.2em 0; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; } code { background: #f5f5f5; padding: 0 0.2em; }
"""


def _html(sections: list[Section], title: str) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>wsnas report: {e(title)}</h1>",
             f"<p>Generated {e(_now())} from " + ", ".join(f"<code>{e(str(s.directory))}</code>" for s in sections)
             + ".</p>"]
    for s in sections:
        parts.append(f"<h2>{e(str(s.directory))}</h2>")
        for item in s.items:
            data = base64.b64encode(item.png.read_bytes()).decode("ascii")
            parts.append(f"<figure><h3>{e(item.title)}</h3><img src='data:image/png;base64,{data}' "
                         f"alt='{e(item.title)}'><figcaption>{e(item.caption)}</figcaption></figure>")
            if item.findings:
                parts.append("<ul class='findings'>" + "".join(f"<li>{e(f)}</li>" for f in item.findings) + "</ul>")
        if s.missing:
            parts.append("<h3>Not in this report</h3><table><tr><th>figure</th><th>why</th><th>command</th></tr>")
            parts += [f"<tr><td>{e(m.what)}</td><td>{e(m.reason)}</td><td>"
                      f"{f'<code>{e(m.command)}</code>' if m.command else '-'}</td></tr>" for m in s.missing]
            parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# ------------------------------------------------------------------------------------------------- CLI

def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render reports/<name>/index.html and summary.md from runs and studies")
    p.add_argument("dirs", nargs="+", metavar="RUN_OR_STUDY_DIR", help="run or study directories")
    p.add_argument("--name", help="report folder name (default: the directories' names)")
    p.add_argument("--out-root", default="reports", help="where report folders go (default: ./reports)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: the run's, or $WSNAS_DATA_MIRROR)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_report)
    return p


def _cmd_report(args: argparse.Namespace) -> None:
    report = render_report(args.dirs, args.name, args.out_root, args.data_mirror, progress=not args.quiet)
    print(f"[report] {report.index}\n[report] {report.summary}")
    for section in report.sections:
        for m in section.missing:
            print(f"  not in the report: {m.what} ({section.directory}): {m.reason}"
                  + (f"; run `{m.command}`" if m.command else ""))
