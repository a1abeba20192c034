"""`wsnas prune-study`: supernets trained on optimistically and randomly pruned spaces (wsnas.workflows.pruning_study;
torch is imported only when the command runs)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, csv_list, overrides_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prune-study", help="supernets trained on optimistically and randomly pruned spaces")
    add_config_args(p, with_preset=True)
    p.add_argument("--out", required=True,
                   help="study directory (pools/, runs/, studies/pruning.json); rerun to resume")
    p.add_argument("--fractions", default="0,0.25,0.5,0.75,0.9", help="shares of the space to drop, each in [0, 1)")
    p.add_argument("--modes", default="optimistic,random",
                   help="optimistic (drop the truly worst) and/or random (drop a seeded random subset)")
    p.add_argument("--pool-seed", type=int, default=0, help="seed of the random pruning (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.analysis.studies.pruning import format_rows
    from wsnas.workflows.pruning_study import plan, pruning_study, study_config

    runs = plan(csv_list(args.fractions, float, "--fractions", "0,0.25,0.5"),
                csv_list(args.modes, str, "--modes", "optimistic,random"))
    cfg, lighter = study_config(args.preset, args.config, overrides_from_args(args))
    if lighter:
        print(f"[prune-study] lighter training for the {args.preset} preset: "
              + ", ".join(f"{k}={v}" for k, v in lighter.items()))
    document = pruning_study(cfg, Path(args.out), runs, args.pool_seed, lighter)
    print(format_rows(document["rows"]))
    print(f"[prune-study] {Path(args.out) / 'studies' / 'pruning.json'}")
