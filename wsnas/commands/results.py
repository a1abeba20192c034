"""`wsnas index` and `wsnas query`: fill the results database from run directories, and ask it questions."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from wsnas.analysis.store import (DB_ENV, GROUP_COLUMNS, default_db_path, index_run, metric_table, runs_table,
                                  sql_table, topk_rows)
from wsnas.core.errors import WsnasError

_DB_HELP = f"results database (default: ${DB_ENV}, else runs/wsnas.sqlite)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    idx = sub.add_parser("index", help="store run or audit directories in the results database")
    idx.add_argument("runs", nargs="+", metavar="RUN", help="run (or audit) directory")
    idx.add_argument("--db", help=_DB_HELP)
    idx.set_defaults(func=cmd_index)

    q = sub.add_parser("query", help="ask the results database: a metric per run, top-k, runs, or SQL",
                       description="wsnas query kendall | spearman | pearson | <any metric> | topk | runs, "
                                   "or wsnas query --sql 'SELECT ...'")
    q.add_argument("what", nargs="?", help="runs, topk, or a metric name (kendall, spearman, pearson, ...)")
    q.add_argument("--db", help=_DB_HELP)
    q.add_argument("--space", help="only this search space")
    q.add_argument("--kind", help="only this kind: run, group (a replicate group's replicated figures), audit, "
                                  "correlate (benchmark correlations)")
    q.add_argument("--bn-policy", help="only this BN policy (recalibrate, inherit, batch; audits: n/a)")
    q.add_argument("--epoch", type=int, help="only this checkpoint epoch (audits: 0)")
    q.add_argument("--finetune-batches", type=int, metavar="N",
                   help="only scores fine-tuned N batches per subnet (0 = plain, no fine-tuning)")
    q.add_argument("--score", help="only this score column (runs: supernet_acc; audits: their --score-col; "
                                   "correlate: the first column of a pair)")
    q.add_argument("--truth", help="only this ground-truth column, e.g. cifar10/test")
    q.add_argument("--score-set", help="only this score set (the hash of the evaluation settings, see "
                                       "RUN/score_sets.json)")
    q.add_argument("--group", dest="group_id", help="only the members of this replicate group (its path)")
    q.add_argument("--label", help="topk only: this top-k label, e.g. 10 or 1%%")
    q.add_argument("--by", help=f"mean over runs per group: comma-separated from {', '.join(GROUP_COLUMNS)}")
    q.add_argument("--sql", help="plain SQL on a read-only connection (see docs/results-db.md)")
    q.add_argument("--csv", action="store_true", help="CSV instead of an aligned table")
    q.set_defaults(func=cmd_query)


def cmd_index(args: argparse.Namespace) -> None:
    db = args.db or default_db_path()
    for run in args.runs:
        r = index_run(db, run)
        print(f"[index] {r.run_id} ({r.kind}): {r.scores} scores, {r.metrics} metric values, "
              f"{r.topk} top-k rows -> {db}")


def cmd_query(args: argparse.Namespace) -> None:
    db = args.db or default_db_path()
    filters = {"space": args.space, "kind": args.kind, "bn_policy": args.bn_policy, "epoch": args.epoch,
               "finetune_batches": args.finetune_batches, "score_set": args.score_set, "score": args.score,
               "truth": args.truth, "group_id": str(Path(args.group_id).resolve()) if args.group_id else None}
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else None
    if args.sql is not None:
        if args.what or any(v is not None for v in filters.values()) or by or args.label:
            raise WsnasError("--sql takes the whole question: drop the other arguments and filters, or drop --sql")
        table = sql_table(db, args.sql)
    elif not args.what:
        raise WsnasError("say what to query: `wsnas query kendall` (or any metric), `wsnas query topk`, "
                         "`wsnas query runs`, or `wsnas query --sql 'SELECT ...'`")
    elif args.what == "runs":
        if any(filters[c] is not None for c in filters if c not in ("space", "kind")) or by or args.label:
            raise WsnasError("`wsnas query runs` takes only --space and --kind; the other filters apply to metrics "
                             "and topk")
        table = runs_table(db, args.space, args.kind)
    elif args.what == "topk":
        table = topk_rows(db, filters, by, args.label)
    else:
        if args.label:
            raise WsnasError(f"--label applies to `wsnas query topk`, not to the metric {args.what!r}")
        table = metric_table(db, args.what, filters, by)
    if args.csv:
        sys.stdout.write(table.to_csv(index=False))
    else:
        print(format_table(table))


def format_table(table: pd.DataFrame) -> str:
    """An aligned plain-text table: floats to 4 decimals, empty cells for NULL."""
    if table.empty:
        return "(no rows match; `wsnas query runs` lists what is indexed)" if len(table.columns) else "(no rows)"
    blank_none = {c: table[c].map(lambda v: "" if v is None else v) for c in table.columns
                  if table[c].dtype == object}
    return table.assign(**blank_none).to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4f}")
