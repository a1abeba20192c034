"""Training protocols of the uniform single-path supernet: named sets of config overrides that the protocol study
(wsnas.workflows.protocol_study) trains side by side at the same budget. (The options themselves are trained and
checked in wsnas.supernets: schedules, weight_averaging, strict_fair, protocols.)

A protocol changes how the supernet is trained, never what is scored: every protocol scores the same archs
(eval.*), with the same BN recalibration, against the same truth. Each keeps the budget of epochs x training
images: one that costs more per epoch (strict fairness trains m paths per step) trains `epochs_scale` times the
base epochs to spend the same; its measured CPU-seconds stand in the leaderboard beside it. A plugin
adds one with `register_protocol`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wsnas.core.errors import WsnasError


@dataclass(frozen=True)
class Protocol:
    """A training protocol: its name, the config overrides it applies, what it is and where it comes from, and
    the share of the base config's train.epochs it trains to spend the same budget."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    source: str = ""
    epochs_scale: float = 1.0

    def epochs(self, base_epochs: int) -> int:
        """train.epochs at the budget of `base_epochs` epochs of the plain protocol (at least 1)."""
        return max(1, round(base_epochs * self.epochs_scale))


_PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> None:
    """Make `protocol` available to `wsnas protocol-study --protocols` under its name."""
    _PROTOCOLS[protocol.name] = protocol


def protocol(name: str) -> Protocol:
    if name not in _PROTOCOLS:
        raise WsnasError(f"unknown training protocol {name!r}; known: {', '.join(_PROTOCOLS)} (a plugin adds one "
                         f"with wsnas.workflows.protocol_registry.register_protocol)")
    return _PROTOCOLS[name]


def protocols() -> list[Protocol]:
    return list(_PROTOCOLS.values())


for _p in (
    Protocol("default", {}, "the preset as it is (cpu: SGD at a constant learning rate 0.05, uniform paths, batch 64)",
             "wsnas's CPU default"),
    Protocol("cosine", {"train.lr_schedule": "cosine"}, "the learning rate annealed to 0 over the epochs by a "
             "cosine", "the NB201 paper's and xautodl's supernet schedule (Dong & Yang 2020)"),
    Protocol("unique", {"train.sampler": "unique"}, "paths drawn uniformly over distinct functions (isomorphic "
             "archs counted once) instead of over arch strings", "de-isomorphic sampling (Zhang et al. 2021)"),
    Protocol("batch-128", {"train.batch_size": 128, "train.lr": 0.1}, "batch 128 at twice the learning rate: the "
             "same images, half the steps", "the linear scaling rule (Goyal et al. 2017)"),
    Protocol("cosine-restarts", {"train.lr_schedule": "cosine_restarts", "train.lr_restart_period": 10,
                                 "train.lr_restart_mult": 1},
             "cosine cycles of 10 epochs with warm restarts (2 cycles at 20 epochs)",
             "SGDR (Loshchilov & Hutter 2017), T_mult=1 so that the cycles end with the budget"),
    Protocol("ema", {"train.ema_decay": 0.999}, "the scored weights are an exponential moving average of the "
             "weights (decay 0.999 per step: about 6 epochs of 156 steps), BN recalibrated per subnet",
             "Polyak averaging (Polyak & Juditsky 1992) as an EMA, the form modern training recipes use"),
    Protocol("swa", {"train.swa_epochs": 5}, "the scored weights are the mean of the weights after each of the last "
             "5 epochs, BN recalibrated per subnet", "SWA (Izmailov et al. 2018)"),
    Protocol("strict-fair", {"train.sampler": "strict_fair"}, "each step trains m paths that cover every op of "
             "every slot once (m = 5 on nb201) with one update; a fifth of the epochs, for the same budget of "
             "forward/backward passes", "FairNAS (Chu et al. 2021)", epochs_scale=0.2),
    Protocol("bn-affine", {"model.bn_affine": True}, "BatchNorm with learned scale and shift in every op",
             "the affine BN most standalone networks train with (NB201's supernets use none)"),
    Protocol("landmarks", {"train.landmarks": 20, "train.landmark_every": 4},
             "landmark regularisation: 20 archs of known truth (never scored), one pair of them ranked by a hinge "
             "on their losses every 4 steps; two thirds of the epochs, for the same budget of forward/backward "
             "passes (1.5 per step); uses 20 truth labels",
             "Yu et al. 2021 (wsnas.benchmarks.ranking_methods.landmarks)", epochs_scale=1 / 1.5),
    Protocol("fewshot", {"train.fewshot_slot": 0},
             "few-shot NAS: the one-shot supernet for half of the epochs, then split at slot 0 (nb201: edge 1<-0) "
             "into one sub-supernet per op, warm-started from it, step i training sub-supernet i mod m: the same "
             "forward/backward passes as the default",
             "Zhao et al. 2021 (wsnas.benchmarks.ranking_methods.fewshot)"),
    Protocol("distill", {"train.distill_teacher": "synflow", "train.distill_archs": 4, "train.distill_every": 8},
             "ranking distillation: every 8 steps, 4 archs ranked by synflow (the teacher, at initialisation, no "
             "truth) and a hinge on their losses asks for the teacher's order; two thirds of the epochs, for the "
             "same budget of forward/backward passes (1.5 per step); the proxy seconds count as training",
             "Dong et al. 2023, RD-NAS (wsnas.benchmarks.ranking_methods.distill)", epochs_scale=1 / 1.5),
):
    register_protocol(_p)
