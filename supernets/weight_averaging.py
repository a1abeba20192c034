"""Weight averaging of supernet training: the weights a checkpoint offers for scoring are an average of the trained
ones (train.ema_decay, train.swa_epochs; at most one of them).

ema  an exponential moving average, updated after every optimiser step: avg <- d avg + (1 - d) w, starting from
     the initial weights (timm's ModelEmaV2; Polyak averaging).
swa  stochastic weight averaging (Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
     Generalization", UAI 2018): the equal-weight mean of the weights after each of the last K epochs, whatever
     the learning-rate schedule (the paper averages once per epoch at a constant rate, or once per cycle of a
     cyclic one). Checkpoints before those K epochs offer the trained weights.

Parameters and floating buffers (BN running means and variances) are averaged alike; integer buffers (BN's batch
counter) are copied. Evaluation's default BN policy (eval.bn_policy=recalibrate) re-estimates every subnet's BN
statistics on the averaged weights, so the averaged statistics matter only under eval.bn_policy=inherit.

A checkpoint of a run that averages holds `model` (the averaged weights: what evaluation loads and scores),
`trained_model` (the weights training continues from) and `average` (kind and count), so a resumed run continues
the average exactly.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wsnas.core.config import TrainConfig
from wsnas.core.errors import WsnasError
from wsnas.supernets.checkpoints import CheckpointError


def check_averaging(t: TrainConfig) -> None:
    """One clear error for train.ema_decay or train.swa_epochs out of range, or both set."""
    if not 0 <= t.ema_decay < 1:
        raise WsnasError(f"train.ema_decay={t.ema_decay} must lie in [0, 1) (0 = off; e.g. 0.999)")
    if not 0 <= t.swa_epochs <= t.epochs:
        raise WsnasError(f"train.swa_epochs={t.swa_epochs} must lie between 0 (off) and train.epochs={t.epochs}")
    if t.ema_decay and t.swa_epochs:
        raise WsnasError(f"train.ema_decay={t.ema_decay} and train.swa_epochs={t.swa_epochs} both average the "
                         f"weights; set one of them to 0")


def weight_average(t: TrainConfig, model: nn.Module) -> "WeightAverage | None":
    """The average of `model`'s weights the run's config asks for, or None when it averages none."""
    return WeightAverage(t, model) if t.ema_decay or t.swa_epochs else None


class WeightAverage:
    """The running average of `model`'s weights under train.ema_decay or train.swa_epochs."""

    def __init__(self, t: TrainConfig, model: nn.Module) -> None:
        check_averaging(t)
        self.kind = "ema" if t.ema_decay else "swa"
        self.decay, self.first_epoch = t.ema_decay, t.epochs - t.swa_epochs + 1
        self.model = model
        self.count = 0  # updates folded in (EMA: steps; SWA: epochs)
        self.average: dict[str, torch.Tensor] = (
            {name: w.detach().clone() for name, w in model.state_dict().items()} if self.kind == "ema" else {})

    def describe(self) -> str:
        if self.kind == "ema":
            return f"an EMA of the weights (decay {self.decay}, updated every step)"
        return f"the mean of the weights after each epoch from epoch {self.first_epoch} on (SWA)"

    @torch.no_grad()
    def after_step(self) -> None:
        """Fold the weights after an optimiser step into an EMA."""
        if self.kind != "ema":
            return
        for name, w in self.model.state_dict().items():
            if w.is_floating_point():
                self.average[name].mul_(self.decay).add_(w, alpha=1 - self.decay)
            else:
                self.average[name].copy_(w)
        self.count += 1

    @torch.no_grad()
    def after_epoch(self, epoch: int) -> None:
        """Fold the weights after (1-based) `epoch` into an SWA mean once the last K epochs have begun."""
        if self.kind != "swa" or epoch < self.first_epoch:
            return
        self.count += 1
        for name, w in self.model.state_dict().items():
            if self.count == 1 or not w.is_floating_point():
                self.average[name] = w.detach().clone()
            else:
                self.average[name].add_(w - self.average[name], alpha=1 / self.count)

    def checkpoint(self) -> dict[str, Any]:
        """The checkpoint entries: the averaged weights as `model` (the trained ones while there is no average
        yet), the trained weights and the average's bookkeeping."""
        trained = self.model.state_dict()
        return {"model": self.average or trained, "trained_model": trained,
                "average": {"kind": self.kind, "count": self.count}}

    def load(self, state: dict[str, Any]) -> None:
        """Continue the average saved in a checkpoint (its `model` and `average` entries)."""
        saved = state.get("average")
        if not isinstance(saved, dict) or saved.get("kind") != self.kind:
            raise CheckpointError(f"the checkpoint holds no {self.kind} weight average (train.ema_decay, "
                                  f"train.swa_epochs) to continue; resume it with the config it was trained with")
        self.count = saved["count"]
        started = self.kind == "ema" or self.count > 0  # an SWA before its first epoch has no average yet
        self.average = {name: w.detach().clone() for name, w in state["model"].items()} if started else {}
