"""The report's pages: the figures and gaps of each directory (Item, Missing, Section), and their rendering as
one self-contained HTML page and a Markdown summary (no torch). Both lead with the verdicts (each directory's
Kendall against its free baselines, then every study's verdict), then give the evidence: every figure, whose
caption is said once per kind of figure, before the first figure of that kind.

    reports/<name>/index.html   every figure embedded as a base64 PNG, CSS inline: open it anywhere
    reports/<name>/summary.md   the same text, linking the PNG files beside it
    reports/<name>/*.png
"""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure

from wsnas.analysis.plots.style import save
from wsnas.analysis.report.reading import ReportError
from wsnas.core.atomic import atomic_path, write_text

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
VERDICTS = "Verdicts"  # the report's first section: the verdict lines of every directory
EVIDENCE = "The evidence"  # then every directory's figures


@dataclass
class Item:
    """One figure of the report: its PNG, title, caption and the findings written under it."""

    png: Path
    title: str
    caption: str
    findings: list[str] = field(default_factory=list)
    kind: str = ""  # figures of one kind share a caption, said once before the first of them


@dataclass
class Verdict:
    """What one figure concludes, said first in the report: a heading and its lines."""

    heading: str
    lines: list[str]


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
    verdicts: list[Verdict] = field(default_factory=list)  # what the report leads with, from its figures


@dataclass
class PlannedFigure:
    """A figure to draw: file stem, title, caption, findings and how to draw it."""

    stem: str
    title: str
    caption: str
    findings: list[str]
    draw: Callable[[], Figure]
    kind: str = ""  # default: the stem
    verdict: Verdict | None = None  # what of it leads the report


def new_captions(items: list[Item]) -> list[bool]:
    """Whether each item's caption is said: once per kind of figure, before the first figure of that kind (again
    only where a figure of the kind has another caption)."""
    said: dict[str, str] = {}
    shown = []
    for item in items:
        shown.append(said.get(item.kind) != item.caption)
        said[item.kind] = item.caption
    return shown



def report_name(directories: list[Path], name: str | None) -> str:
    """--name, or the directories' names joined; a plain file name (letters, digits, . _ -)."""
    if name is None:
        name = "+".join(d.resolve().name for d in directories)
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "report"
    if not NAME_PATTERN.match(name):
        raise ReportError(f"--name {name!r} must be a plain folder name (letters, digits, '.', '_', '-', not "
                          f"starting with '.' or '-'), e.g. --name nb201-cpu")
    return name


def save_png(fig: Figure, path: Path) -> None:
    """Write `fig` as a PNG at `path` atomically."""
    with atomic_path(path) as tmp:
        save(fig, tmp)


@dataclass
class Report:
    """A rendered report: its two pages and what each directory contributed or lacked."""

    index: Path
    summary: Path
    sections: list[Section]


def write_pages(out: Path, sections: list[Section]) -> Report:
    """OUT/index.html and OUT/summary.md of `sections`, whose PNGs are in OUT already."""
    report = Report(out / "index.html", out / "summary.md", sections)
    write_text(report.summary, _markdown(sections))
    write_text(report.index, _html(sections, out.name))
    return report


def _markdown(sections: list[Section]) -> str:
    lines = ["# wsnas report", "", f"Generated {_now()} from: " + ", ".join(f"`{s.directory}`" for s in sections), ""]
    led = [s for s in sections if s.verdicts]
    if led:
        lines += [f"## {VERDICTS}", ""]
        for s in led:
            lines += [f"**{s.directory}**", ""]
            for v in s.verdicts:
                lines += [f"- **{v.heading}**: {v.lines[0]}"] if len(v.lines) == 1 else \
                    [f"- **{v.heading}**:"] + [f"  - {line}" for line in v.lines]
            lines.append("")
        lines += [f"## {EVIDENCE}", ""]
    for s in sections:
        lines += [f"## {s.directory}", ""]
        for item, said in zip(s.items, new_captions(s.items)):
            lines += [f"### {item.title}", ""] + ([item.caption, ""] if said else [])
            lines += [f"![{item.title}]({item.png.name})", ""]
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
p.caption { color: #555; font-size: 0.95em; }
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
    led = [s for s in sections if s.verdicts]
    if led:
        parts.append(f"<h2>{e(VERDICTS)}</h2>")
        for s in led:
            parts.append(f"<p><b>{e(str(s.directory))}</b></p><ul class='findings'>"
                         + "".join(f"<li><b>{e(v.heading)}</b><ul>" + "".join(f"<li>{e(line)}</li>" for line in v.lines)
                                   + "</ul></li>" for v in s.verdicts) + "</ul>")
        parts.append(f"<h2>{e(EVIDENCE)}</h2>")
    for s in sections:
        parts.append(f"<h2>{e(str(s.directory))}</h2>")
        for item, said in zip(s.items, new_captions(s.items)):
            data = base64.b64encode(item.png.read_bytes()).decode("ascii")
            caption = f"<p class='caption'>{e(item.caption)}</p>" if said else ""
            parts.append(f"<figure><h3>{e(item.title)}</h3>{caption}<img src='data:image/png;base64,{data}' "
                         f"alt='{e(item.title)}'></figure>")
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
