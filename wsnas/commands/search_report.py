"""`wsnas search-report DIR [DIR ...]`: the search methods' report (wsnas.analysis.search.report; no torch)."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search-report", help="figures of `wsnas search` runs: derived archs, op shares, rankings, "
                                             "SNAS's trade-off")
    p.add_argument("dirs", nargs="+", metavar="SEARCH_DIR", help="search directories (wsnas search --run-dir)")
    p.add_argument("--name", help="report folder name (default: the directories' names)")
    p.add_argument("--out-root", default="reports", help="where report folders go (default: ./reports)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: $WSNAS_DATA_MIRROR)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.analysis.search.report import render_search_report

    report = render_search_report(args.dirs, args.name, args.out_root, args.data_mirror)
    print(f"[search-report] {report.index}\n[search-report] {report.summary}")
