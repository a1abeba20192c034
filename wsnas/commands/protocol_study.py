"""`wsnas protocol-study`: training protocols of the uniform supernet side by side at equal budget
(wsnas.workflows.protocol_study; torch is imported only when the command runs)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, overrides_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol-study", help="train one replicate group per training protocol on the same archs "
                                              "and budget; a leaderboard with paired verdicts and a cost figure")
    add_config_args(p, with_preset=True)
    p.add_argument("--protocols", default="default,cosine",
                   help="comma-separated protocol names (see --list; default default,cosine)")
    p.add_argument("--reference", default="default", help="the protocol the others are compared with (default)")
    p.add_argument("--replicates", type=int, help="supernets per protocol (default: the preset's, 3 on cpu)")
    p.add_argument("--out", default="runs/protocols", help="study directory (default runs/protocols); rerun to resume")
    p.add_argument("--report", help="also write the leaderboard and its figure here, e.g. reports/training-protocols")
    p.add_argument("--list", action="store_true", help="list the protocols and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.workflows.protocol_registry import protocols

    if args.list:
        for p in protocols():
            print(f"{p.name:16s} {p.summary} [{p.source}] {p.overrides or ''}")
        return
    from wsnas.workflows.protocol_study import protocol_study

    names = [n.strip() for n in args.protocols.split(",") if n.strip()]
    table = protocol_study(args.preset, args.config, overrides_from_args(args), names, Path(args.out),
                           args.reference, Path(args.report) if args.report else None)
    for row in table.itertuples():
        print(f"  {row.protocol:12s} Kendall {row.kendall:+.3f} [{row.kendall_low:+.3f}, {row.kendall_high:+.3f}] "
              f"sd {row.seed_sd:.3f}  train {row.train_cpu_s:.0f} CPU-s/supernet")
    print(f"[protocol-study] {Path(args.out) / 'leaderboard.md'}")
