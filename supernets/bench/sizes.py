"""The bench's sizes (`default`, `quick`), its NAS-Bench-201 training shapes, and what every measurement derives
from them: a shape's config and the plain (fp32, contiguous) runtime the baselines run at."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from wsnas.core.config import Config, apply_overrides, config_from_dict


@dataclass(frozen=True)
class Shape:
    """A NAS-Bench-201 training shape and how many steps to warm up and to time per round."""

    name: str
    C: int
    N: int
    batch: int
    warmup: int
    steps: int


@dataclass(frozen=True)
class Size:
    shapes: tuple[Shape, ...]
    rounds: int                # interleaved rounds of every side-by-side measurement
    eval_subnets: int          # timed subnets per evaluator and round (one more is scored first as warm-up)
    calib_batches: int         # recalibration batches of train.batch_size training images per subnet
    n_valid: int               # held-out images every subnet is evaluated on
    eval_batch: int
    scale_n_train: int         # training images of the scaling runs
    scale_epochs: tuple[int, ...]
    scale_subnets: tuple[int, ...]
    profile_steps: int         # training steps per profile
    matmul_n: int              # side of the square matmul that measures the peak
    matmul_repeats: int


SIZES = {
    "default": Size(shapes=(Shape("paper", 16, 5, 256, warmup=1, steps=3), Shape("cpu", 8, 1, 64, warmup=5, steps=40)),
                    rounds=3, eval_subnets=40, calib_batches=4, n_valid=1000, eval_batch=500, scale_n_train=2000,
                    scale_epochs=(1, 2, 4), scale_subnets=(10, 20, 40), profile_steps=2, matmul_n=2048,
                    matmul_repeats=5),
    "quick": Size(shapes=(Shape("tiny", 4, 1, 32, warmup=1, steps=2),), rounds=2, eval_subnets=3, calib_batches=1,
                  n_valid=64, eval_batch=32, scale_n_train=128, scale_epochs=(1, 2), scale_subnets=(2, 4),
                  profile_steps=1, matmul_n=256, matmul_repeats=2),
}
EVAL_SPACE = "nb201"  # the eval comparison and the profile run on this space (the training rows always do)
TRAIN_BASELINES = {"xautodl_dataloader": "xautodl + DataLoader", "wsnas_dataloader": "wsnas + DataLoader",
                   "model_only": "the model alone, no loop"}


def shape_config(base: Config, shape: Shape) -> Config:
    """`base` at the shape's width, depth and batch."""
    return apply_overrides(config_from_dict(base.to_dict()), {"model.C": shape.C, "model.N": shape.N,
                                                               "train.batch_size": shape.batch})


def plain_runtime(rt):
    """`rt` in fp32 and the contiguous format: how the baselines' users run them, and the reference numerics."""
    return dataclasses.replace(rt, amp_dtype=None, layout="contiguous", source="baseline: fp32, contiguous")


def silent(*_: object) -> None:
    """The log of the measured runs (their config lines would drown the report)."""
