"""`wsnas train`: train a uniform-sampling supernet into a run directory (rerun to resume)."""
from __future__ import annotations

import argparse

from wsnas.commands.options import add_config_args, new_run


PROTOCOLS = """training protocols (docs/training-protocols.md; each is part of the run's config and score sets):
  --set train.lr_schedule=cosine_restarts  SGDR: cosine cycles of train.lr_restart_period epochs (T_0, default 10),
                                           each train.lr_restart_mult times longer (T_mult, default 2)
  --set train.ema_decay=D                  score an EMA of the weights, updated every step (0 = off)
  --set train.swa_epochs=K                 score the mean of the weights after each of the last K epochs (0 = off)
  --sampler strict_fair                    FairNAS: m paths per step, every op of every slot once, one update
  --set train.landmarks=K                  landmark regularisation: K truth-labelled archs ranked by a hinge on
                                           their losses (train.landmark_*), never scored (0 = off)
  --set train.fewshot_slot=I               few-shot NAS: after train.fewshot_warmup epochs, one sub-supernet per op
                                           of slot I, each arch scored by its own (null = off)
  --set train.distill_teacher=P            ranking distillation: the supernet's losses follow zero-cost proxy P's
                                           order on a few archs (train.distill_*; null = off)"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a uniform-sampling supernet", epilog=PROTOCOLS,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p, with_preset=True)
    p.add_argument("--run-dir", help="run directory (default runs/<space>-<preset>); rerun to resume")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.supernets.train import train_supernet

    cfg, run_dir = new_run(args)
    result = train_supernet(cfg, run_dir)
    print(f"[train] {run_dir.path}: {result.epochs_done} epochs, {result.seconds:.1f}s, "
          f"{result.images_per_second:.0f} images/s")
