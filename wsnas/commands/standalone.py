"""`wsnas standalone`: ground truth for any space with a supernet, by training its sampled archs from scratch
(wsnas.supernets.standalone)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, overrides_from_args
from wsnas.core.config import build_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("standalone", help="ground truth for any space: train the sampled archs from scratch "
                                          "(resumable; a truth table for analysis.truth_file)")
    add_config_args(p, with_preset=True)
    p.add_argument("--out", required=True, metavar="CSV",
                   help="truth table to write or extend (its config goes to CSV.config.json); rerun to resume")
    p.add_argument("--seeds", type=int, default=1, help="training runs per arch (default 1; 2 or more give the "
                                                        "seed-noise ceiling)")
    p.set_defaults(func=cmd_standalone)


def cmd_standalone(args: argparse.Namespace) -> None:
    from wsnas.supernets.standalone import metric_name, train_standalone

    cfg = build_config(args.preset, args.config, overrides_from_args(args))
    out = Path(args.out)
    table = train_standalone(cfg, out, args.seeds)
    plugins = "".join(f" --plugin {p}" for p in cfg.plugins)
    archs = "null" if cfg.eval.n_archs is None else cfg.eval.n_archs
    print(f"[standalone] {out}: {len(table)} archs, metric {metric_name(cfg)}; rank a supernet on the same archs "
          f"with\n  wsnas study{plugins} --space {cfg.space} --preset {cfg.preset} --archs {archs} "
          f"--set analysis.truth_file={out} --truth {metric_name(cfg)}")
