"""`wsnas audit`: the ranking metrics of any space's scores against its ground truth, both tables made outside
wsnas (the work is wsnas.analysis.audit.run; no torch)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wsnas.analysis.audit.replicates import format_replicated_results
from wsnas.analysis.audit.run import (DEFAULT_SCORE, DEFAULT_TRUTH, AuditInputs, format_audit, parse_topk, run_audit,
                                  verdict_lines)
from wsnas.analysis.audit.tables import JOINED, comma_list
from wsnas.analysis.store import index_and_report
from wsnas.benchmarks.registry import space_names
from wsnas.core.config import AnalysisConfig


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    defaults = AnalysisConfig()
    p = sub.add_parser("audit", help="ranking metrics of any space's scores against its ground truth (two tables)",
                       description="Audit score columns against truth columns of two tables (see the README's "
                                   "audit section). COLUMN options may name a side: score:NAME or truth:NAME.")
    p.add_argument("--scores", required=True, help="table of scores: a key column and score columns "
                                                   "(optional bn_policy column)")
    p.add_argument("--truth", help="table of ground truth: a key column and truth columns (default with a registered "
                                   "--space: the space's own ground truth)")
    p.add_argument("--key-col", default="key", help="arch key column of the scores (and of the truth; default: key)")
    p.add_argument("--truth-key-col", help="arch key column of the truth table (default: --key-col)")
    p.add_argument("--score-col", action="append", metavar="COL[,COL]",
                   help=f"score column(s) to audit; repeatable (default: {DEFAULT_SCORE})")
    p.add_argument("--truth-col", action="append", metavar="COL[,COL]",
                   help=f"truth column(s); repeatable (default: {DEFAULT_TRUTH}, or the space's first metric)")
    p.add_argument("--lower-is-better", action="append", default=[], metavar="COL[,COL]",
                   help="score or truth columns where lower is better (losses, errors, latency); the rest are "
                        "higher-is-better")
    p.add_argument("--unit", action="append", default=[], metavar="COL=UNIT",
                   help="unit of a column, e.g. --unit val_loss=nats (default: a unit in the column name as "
                        "'name [unit]' or 'name (unit)', else none)")
    p.add_argument("--sparse-tol", action="append", default=[], metavar="[TRUTH=]TOL",
                   help="sparse Kendall: truth values closer than TOL (in the truth's units) tie (default: 0.1 for a "
                        "truth in %%, else sparse Kendall is left out)")
    p.add_argument("--truth-seeds", action="append", default=[], metavar="[TRUTH=]COL,COL",
                   help="per-seed truth columns, for the seed-noise ceiling (default: '<truth>#seed<k>' columns)")
    p.add_argument("--replicate-cols", metavar="COL,COL[,COL]",
                   help="score columns that are replicates of one method (e.g. supernets trained with different "
                        "seeds): they also get the replicated figures and verdicts of `wsnas study` (added to the "
                        "score columns)")
    p.add_argument("--drop-unmatched", action="store_true",
                   help="audit the scored archs that have a truth row; the others are left out, counted and listed "
                        "(default: an error naming them)")
    p.add_argument("--features", metavar="F.csv",
                   help="the archs' features, for a space wsnas does not know: the key column and params_M, flops_M "
                        "(size-bias study, free baselines), n_ops:<op> (op counts) and edge:<slot> (the op at each "
                        "slot; operator study), or any numeric feature")
    p.add_argument("--features-key-col", help="arch key column of the features table (default: --key-col)")
    p.add_argument("--topk", default="1,10,1%,10%", help="top-k sizes: counts and fractions (default: 1,10,1%%,10%%)")
    p.add_argument("--sep", help="column separator of both tables (default: sniffed; comma, tab, semicolon, pipe, "
                                 "space)")
    p.add_argument("--truth-sep", help="column separator of the truth table (default: --sep, else sniffed)")
    p.add_argument("--space", help=f"space of the keys; a registered one ({', '.join(space_names())}, or a plugin's) "
                                   f"canonicalises keys; any other name is a label")
    p.add_argument("--data-mirror", help="local mirror of a built-in space's ground truth (with --truth omitted)")
    p.add_argument("--name", help="output directory runs/audit-NAME (default: derived from all inputs)")
    p.add_argument("--out", help="output directory (instead of --name)")
    p.add_argument("--n-boot", type=int, default=defaults.n_boot, help=f"bootstrap resamples ({defaults.n_boot})")
    p.add_argument("--seed", type=int, default=defaults.seed, help=f"bootstrap seed ({defaults.seed})")
    p.add_argument("--db", help="results database to index into (default: $WSNAS_DB, else runs/wsnas.sqlite)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (shown with several pairs)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> None:
    replicates = tuple(comma_list([args.replicate_cols])) if args.replicate_cols else ()
    score_cols = tuple(dict.fromkeys(comma_list(args.score_col or ([] if replicates else [DEFAULT_SCORE]))
                                     + list(replicates)))
    inputs = AuditInputs(
        scores=Path(args.scores), truth=Path(args.truth) if args.truth else None, key_col=args.key_col,
        truth_key_col=args.truth_key_col, score_cols=score_cols, replicate_cols=replicates,
        truth_cols=tuple(comma_list(args.truth_col or [])), lower_is_better=tuple(args.lower_is_better),
        units=tuple(args.unit), sparse_tol=tuple(args.sparse_tol), truth_seeds=tuple(args.truth_seeds),
        sep=args.sep, truth_sep=args.truth_sep, space=args.space, plugins=tuple(getattr(args, "plugin", []) or []),
        mirror=args.data_mirror, drop_unmatched=args.drop_unmatched,
        features=Path(args.features) if args.features else None, features_key_col=args.features_key_col)
    if args.space and args.space not in space_names():
        print(f"[audit] space {args.space!r} is not registered ({', '.join(space_names())}): keys are matched as "
              f"written and the name is a label (a plugin's space needs --plugin FILE)", file=sys.stderr)
    result = run_audit(inputs, out=args.out, name=args.name, n_boot=args.n_boot, seed=args.seed,
                       topk=parse_topk(args.topk), progress=not args.quiet)
    print("\n".join(verdict_lines(result.metrics)))
    for warning in (*result.joined.warnings, *result.notes):
        print(f"[audit] note: {warning}", file=sys.stderr)
    spec = result.plan.spec
    truth = f"{spec.truth.source} (separator {spec.truth.sep!r})" if spec.truth.path else result.plan.truth_source
    print(f"[audit] scores: {spec.scores.source} (separator {spec.scores.sep!r}); truth: {truth}")
    print(f"[audit] {result.joined.table['key'].nunique()} matched archs; {result.joined.truth_without_score} "
          f"truth rows have no score (not used)")
    print(format_audit(result.metrics))
    if result.metrics.get("replicated"):
        print(format_replicated_results(result.metrics["replicated"]))
    print(f"[audit] {result.out_dir}: metrics.json, {JOINED}, config.json; figures: wsnas report {result.out_dir}")
    print(f"[audit] {index_and_report(result.out_dir, args.db)}")
