"""Learning-rate schedules of the weight optimiser, as per-step factors of train.lr (torch's LambdaLR steps them).

constant         lr throughout.
cosine           lr to lr_min along half a cosine over train.lr_period epochs (default train.epochs).
cosine_restarts  SGDR (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017):
                 the cosine from lr to lr_min over a cycle of T_i epochs, then back to lr (a warm restart), with
                 T_0 = train.lr_restart_period and T_(i+1) = T_i * train.lr_restart_mult. Cycle i starts at epoch
                 T_0 (mult^i - 1) / (mult - 1) (i T_0 for mult 1). Within a cycle the factor is
                 floor + (1 - floor) (1 + cos(pi T_cur / T_i)) / 2, floor = lr_min / lr, T_cur counted in steps (the
                 paper updates T_cur every batch). The paper's CIFAR runs use T_0 = 1 or 10 with T_mult = 2 and
                 eta_min = 0 (our defaults: T_0 = 10, T_mult = 2, lr_min = 0).
"""
from __future__ import annotations

import math
from typing import Callable

from wsnas.core.config import TrainConfig
from wsnas.core.errors import WsnasError

SCHEDULES = ("constant", "cosine", "cosine_restarts")


def lr_factor(t: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The factor of train.lr at each optimiser step (0, 1, ...) under t.lr_schedule."""
    if t.lr_schedule not in SCHEDULES:
        raise WsnasError(f"train.lr_schedule={t.lr_schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if not 0 <= t.lr_min <= t.lr:
        raise WsnasError(f"train.lr_min={t.lr_min} must lie between 0 and train.lr={t.lr}")
    floor = t.lr_min / t.lr if t.lr > 0 else 0.0
    if t.lr_schedule == "constant":
        return lambda step: 1.0
    if t.lr_schedule == "cosine":
        total = max(1, t.epochs * steps_per_epoch)
        period = max(1, (t.lr_period or t.epochs) * steps_per_epoch)
        return lambda step: _cosine(floor, min(step, total), period)
    if t.lr_period is not None:
        raise WsnasError(f"train.lr_period={t.lr_period} sets the plain cosine's period; cosine_restarts takes "
                         f"train.lr_restart_period (first cycle) and train.lr_restart_mult: set lr_period=null")
    if t.lr_restart_period < 1 or t.lr_restart_mult < 1:
        raise WsnasError(f"train.lr_restart_period={t.lr_restart_period} and train.lr_restart_mult="
                         f"{t.lr_restart_mult} must both be whole numbers of at least 1 (SGDR: T_0 = 10, T_mult = 2)")
    first, mult = t.lr_restart_period * steps_per_epoch, t.lr_restart_mult
    return lambda step: _cosine(floor, *_within_cycle(step, first, mult))


def restart_epochs(t: TrainConfig) -> list[int]:
    """The epochs at whose start cosine_restarts is back at train.lr (warm restarts before train.epochs)."""
    starts, start, length = [], t.lr_restart_period, t.lr_restart_period * t.lr_restart_mult
    while start < t.epochs:
        starts.append(start)
        start, length = start + length, length * t.lr_restart_mult
    return starts


def _within_cycle(step: int, first: int, mult: int) -> tuple[int, int]:
    """(steps into the current cycle, steps of the cycle) of `step`, cycles of first * mult^i steps."""
    if mult == 1:
        return step % first, first
    length = first
    while step >= length:
        step -= length
        length *= mult
    return step, length


def _cosine(floor: float, step: int, period: int) -> float:
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * step / period))
