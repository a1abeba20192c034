"""`wsnas report DIR [DIR ...]`: one self-contained HTML page and a Markdown summary of runs and studies (no torch;
wsnas.analysis.report.render draws it)."""
from __future__ import annotations

import argparse

from wsnas.analysis.report.render import render_report


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render reports/<name>/index.html and summary.md from runs and studies")
    p.add_argument("dirs", nargs="+", metavar="RUN_OR_STUDY_DIR", help="run or study directories")
    p.add_argument("--name", help="report folder name (default: the directories' names)")
    p.add_argument("--out-root", default="reports", help="where report folders go (default: ./reports)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: the run's, or $WSNAS_DATA_MIRROR)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> None:
    report = render_report(args.dirs, args.name, args.out_root, args.data_mirror, progress=not args.quiet)
    print(f"[report] {report.index}\n[report] {report.summary}")
    for section in report.sections:
        for m in section.missing:
            print(f"  not in the report: {m.what} ({section.directory}): {m.reason}"
                  + (f"; run `{m.command}`" if m.command else ""))
