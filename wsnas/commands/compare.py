"""`wsnas compare A B`: is score set A's ranking better than B's, on the same archs? (the work is
wsnas.analysis.paired_compare; no torch)"""
from __future__ import annotations

import argparse

from wsnas.analysis import paired_compare
from wsnas.analysis.paired_compare import compare, format_comparison
from wsnas.core.atomic import write_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="paired comparison of two score sets on the same archs (A - B with CIs)",
                       description=paired_compare.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="score set A: RUN_OR_GROUP[@epoch=..,bn_policy=..,finetune_batches=..,score_set=..]")
    p.add_argument("b", help="score set B, the same way, or baseline:NAME (params, flops, a zero-cost proxy)")
    p.add_argument("--truth", help="ground-truth column (default: A's analysis.truth)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: the run's, or "
                                         "$WSNAS_DATA_MIRROR)")
    p.add_argument("--n-boot", type=int, help="bootstrap resamples (default: A's analysis.n_boot)")
    p.add_argument("--out", help="also write the comparison as JSON to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    doc = compare(args.a, args.b, metric=args.truth, mirror=args.data_mirror, n_boot=args.n_boot)
    print(format_comparison(doc))
    if args.out:
        write_json(args.out, doc)
        print(f"[compare] {args.out}")
