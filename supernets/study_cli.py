"""`wsnas prune-study` and `wsnas finetune-study`: the rank-disorder studies that train or score subnets.

This module imports no torch: the studies (wsnas.supernets.pruning, wsnas.supernets.finetune_study) are
imported only when their command runs, so `wsnas analyze` and `wsnas benchmarks` keep working without torch.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, TypeVar

from wsnas.commands.options import add_config_args, existing_run, overrides_from_args
from wsnas.core.errors import WsnasError

T = TypeVar("T")


def _csv(text: str, parse: Callable[[str], T], flag: str, example: str) -> list[T]:
    """A comma-separated option as a list of values; a clear error naming the flag otherwise."""
    try:
        return [parse(item.strip()) for item in text.split(",") if item.strip()]
    except ValueError:
        raise WsnasError(f"{flag} {text!r} must be a comma-separated list like {example}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prune-study", help="supernets trained on optimistically and randomly pruned spaces")
    add_config_args(p, with_preset=True)
    p.add_argument("--out", required=True,
                   help="study directory (pools/, runs/, studies/pruning.json); rerun to resume")
    p.add_argument("--fractions", default="0,0.25,0.5,0.75,0.9", help="shares of the space to drop, each in [0, 1)")
    p.add_argument("--modes", default="optimistic,random",
                   help="optimistic (drop the truly worst) and/or random (drop a seeded random subset)")
    p.add_argument("--pool-seed", type=int, default=0, help="seed of the random pruning (default 0)")
    p.set_defaults(func=cmd_prune_study)

    n = sub.add_parser("noise-study", help="where the spread of Kendall tau comes from (training seed, arch sample, "
                                           "held-out images, calibration batches), and what design gives a CI width")
    n.add_argument("run", help="a replicate group (or a run: then no training-seed component) that was evaluated")
    add_config_args(n, with_preset=False)
    n.add_argument("--calib-draws", type=int, default=3, help="calibration draws per replicate (default 3)")
    n.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples of archs and images (default 200)")
    n.set_defaults(func=cmd_noise_study)

    f = sub.add_parser("finetune-study", help="ranking and cost of few-batch fine-tuning of each subnet")
    f.add_argument("run", help="a trained run directory")
    add_config_args(f, with_preset=False)
    f.add_argument("--batches", default="0,1,5,10", help="fine-tuning batches per subnet to compare")
    f.set_defaults(func=cmd_finetune_study)


def cmd_prune_study(args: argparse.Namespace) -> None:
    from wsnas.supernets.pruning import format_rows, plan, pruning_study, study_config

    runs = plan(_csv(args.fractions, float, "--fractions", "0,0.25,0.5"),
                _csv(args.modes, str, "--modes", "optimistic,random"))
    cfg, lighter = study_config(args.preset, args.config, overrides_from_args(args))
    if lighter:
        print(f"[prune-study] lighter training for the {args.preset} preset: "
              + ", ".join(f"{k}={v}" for k, v in lighter.items()))
    document = pruning_study(cfg, Path(args.out), runs, args.pool_seed, lighter)
    print(format_rows(document["rows"]))
    print(f"[prune-study] {Path(args.out) / 'studies' / 'pruning.json'}")


def cmd_noise_study(args: argparse.Namespace) -> None:
    from wsnas.supernets.noise_study import noise_study

    overrides = overrides_from_args(args)
    archs = overrides.pop("eval.n_archs", None)
    doc = noise_study(args.run, None if archs in (None, "null") else int(archs), args.calib_draws, overrides,
                      args.n_boot)
    for line in doc["findings"]:
        print(f"  {line}")
    print(f"[noise-study] {Path(args.run) / 'studies' / 'noise.json'}")


def cmd_finetune_study(args: argparse.Namespace) -> None:
    from wsnas.supernets.finetune_study import format_rows, finetune_study

    batches = _csv(args.batches, int, "--batches", "0,1,5,10")
    cfg, run = existing_run(args)
    document = finetune_study(cfg, run, batches)
    print(format_rows(document["rows"]))
    print(f"[finetune-study] {run.path / 'studies' / 'finetune.json'}")
