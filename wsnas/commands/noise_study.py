"""`wsnas noise-study`: where the spread of Kendall tau comes from, and what design gives a CI width
(wsnas.workflows.noise_study; torch is imported only when the command runs)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, overrides_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    n = sub.add_parser("noise-study", help="where the spread of Kendall tau comes from (training seed, arch sample, "
                                           "held-out images, calibration batches), and what design gives a CI width")
    n.add_argument("run", help="a replicate group (or a run: then no training-seed component) that was evaluated")
    add_config_args(n, with_preset=False)
    n.add_argument("--calib-draws", type=int, default=3, help="calibration draws per replicate (default 3)")
    n.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples of archs and images (default 200)")
    n.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.workflows.noise_study import noise_study

    overrides = overrides_from_args(args)
    archs = overrides.pop("eval.n_archs", None)
    doc = noise_study(args.run, None if archs in (None, "null") else int(archs), args.calib_draws, overrides,
                      args.n_boot)
    for line in doc["findings"]:
        print(f"  {line}")
    print(f"[noise-study] {Path(args.run) / 'studies' / 'noise.json'}")
