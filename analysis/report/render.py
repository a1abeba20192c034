"""`wsnas report DIR [DIR ...]`'s computation: one self-contained HTML page and a Markdown summary of runs and
studies (wsnas.analysis.report.pages writes them).

A DIR is a run directory (config.json, scores.csv, metrics.json, studies/*.json) or a replicate group
(wsnas.analysis.report.run_plan), a study directory (studies/*.json only, e.g. the pruning study's), an audit or a
benchmark-correlation directory (wsnas.analysis.report.audit_plan). Only figures whose data exist are drawn; the
report lists what is missing and the command that would produce it. No torch.
"""
from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm

from wsnas.analysis.report.audit_plan import audit_plan
from wsnas.analysis.report.pages import (Item, Missing, PlannedFigure, Report, Section, report_name, save_png,
                                         write_pages)
from wsnas.analysis.report.reading import ReportError, is_run
from wsnas.analysis.report.run_plan import run_plan
from wsnas.analysis.report.spaces import across_spaces
from wsnas.core.run_files import STUDIES_DIR
from wsnas.core.runs import RunDir


def _plan(directory: Path, mirror: str | None) -> tuple[list[PlannedFigure], list[Missing]]:
    label = directory.resolve().name
    if RunDir(directory).kind in ("audit", "correlate"):  # no supernet run: figures of their own
        return audit_plan(directory, label)
    return run_plan(directory, label, mirror)


def _check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise ReportError(f"{directory} is not a directory; give a run directory or a study directory")
    if not is_run(directory) and not any((directory / STUDIES_DIR).glob("*.json")):
        raise ReportError(f"{directory} is neither a wsnas run (no config.json) nor a study directory (no "
                          f"studies/*.json); give a directory made by `wsnas study` or a study command")



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
                save_png(f.draw(), png)
                written.add(png.name)
                section.items.append(Item(png, f.title, f.caption, f.findings, f.kind or f.stem))
                section.verdicts += [f.verdict] if f.verdict else []
                bar.update(1)
            sections.append(section)
    for stale in out.glob("*.png"):
        if stale.name not in written:
            stale.unlink()
    across = across_spaces(dirs)
    if isinstance(across, PlannedFigure):
        png = out / f"{across.stem}.png"
        save_png(across.draw(), png)
        written.add(png.name)
        sections.insert(0, Section(Path("all directories"), items=[Item(png, across.title, across.caption,
                                                                        across.findings, across.stem)]))
    return write_pages(out, sections)
