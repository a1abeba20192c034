"""`wsnas study`: train, evaluate and analyze in one go (a replicate group when --replicates > 1)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, overrides_from_args
from wsnas.core.config import build_config
from wsnas.workflows.pipeline import study


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="train, evaluate and analyze in one go")
    add_config_args(p, with_preset=True)
    p.add_argument("--run-dir", help="run directory (default runs/<space>-<preset>); rerun to resume")
    p.add_argument("--replicates", help="supernets to train, differing only in train.seed (default 3 at the "
                                        "cpu and paper presets, 1 at smoke); the figures are their mean with "
                                        "a replicate-level CI, in a replicate group RUN_DIR/rep-<r>/")
    p.add_argument("--jobs", help="on CPU: train that many replicates side by side, each in its own process with "
                                  "the cores shared out (runtime.replicate_jobs; default 1: one after the other)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    cfg = build_config(args.preset, args.config, overrides_from_args(args))
    study(cfg, Path(args.run_dir or Path("runs") / f"{cfg.space}-{cfg.preset}"))
