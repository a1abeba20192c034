"""`wsnas analyze`: compare a run's (or a replicate group's) scores with the ground truth."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, existing_run, overrides_from_args
from wsnas.core.config import apply_overrides
from wsnas.core.groups import ReplicateGroup, is_group
from wsnas.workflows.pipeline import analyze


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="compare a run's scores with the ground truth")
    p.add_argument("run", help="run directory, or a replicate group (all its members)")
    add_config_args(p, with_preset=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    if is_group(args.run):
        cfg = ReplicateGroup(args.run).config()
        overrides = overrides_from_args(args)
        if overrides:
            apply_overrides(cfg, overrides)
    else:
        cfg, _ = existing_run(args)
    analyze(cfg, Path(args.run))
