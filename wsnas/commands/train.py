"""`wsnas train`: train a uniform-sampling supernet into a run directory (rerun to resume)."""
from __future__ import annotations

import argparse

from wsnas.commands.options import add_config_args, new_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a uniform-sampling supernet")
    add_config_args(p, with_preset=True)
    p.add_argument("--run-dir", help="run directory (default runs/<space>-<preset>); rerun to resume")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.supernets.train import train_supernet

    cfg, run_dir = new_run(args)
    result = train_supernet(cfg, run_dir)
    print(f"[train] {run_dir.path}: {result.epochs_done} epochs, {result.seconds:.1f}s, "
          f"{result.images_per_second:.0f} images/s")
