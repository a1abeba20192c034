"""The record of a search method (no torch): its name, torch class, level, data use, published protocol with the
presets' reductions of it, and published result. One module of this package holds one method's record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from wsnas.core.config import Config

# A reduction's key for the arch updates of the reduced run: under search.arch_step=matched its arch learning rate
# becomes the published one scaled to the published run's lr x updates (presets.matched_lr).
MATCHED = "matched"
BILEVEL, SINGLE = 78, 156  # cpu arch steps per epoch: 10,000 training images (5,000 + 5,000 when bilevel), batch 64


def reduced(epochs: int, steps_per_epoch: int, warmup: int = 0, **extra: Any) -> dict[str, Any]:
    """A cpu reduction: `epochs`, and for search.arch_step=matched its (epochs - warmup) * steps_per_epoch arch
    updates; `extra` keys spelled with '__' for '.'."""
    return {"train.epochs": epochs, MATCHED: (epochs - warmup) * steps_per_epoch,
            **{k.replace("__", "."): v for k, v in extra.items()}}


@dataclass(frozen=True)
class Protocol:
    """A method's published NB201 run (GAEA: one per base) and the presets' reductions of it."""

    settings: Mapping[str, Any]  # the published run's settings, as config overrides
    # its arch updates, epochs x steps per epoch (25k/25k split at batch 64 = 390 bilevel steps, 50k at 64 = 781
    # single-level steps; ENAS: controller updates): how far a reduced run's arch distribution can travel
    arch_updates: int | None = None
    # "<preset>" and "<preset>@<space>" -> the reduction's overrides, applied in that order over the settings
    reductions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    per_space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # the published run's own on a space


@dataclass(frozen=True)
class Published:
    """A published CIFAR-10 result: test accuracy of the derived arch, mean and sd over search seeds."""

    acc: float
    sd: float | None
    source: str


def weight_step_updates(cfg: Config, steps_per_epoch: int) -> int:
    """Arch updates of a method that takes one per weight step, after search.arch_warmup_epochs."""
    return max(cfg.train.epochs - cfg.search.arch_warmup_epochs, 0) * steps_per_epoch


@dataclass(frozen=True)
class SearchMethod:
    """Everything wsnas knows of one search method (`wsnas search --method NAME`).

    method_class  "module:Class" of its torch class (wsnas.supernets.search), imported only when a search runs
    level         single | bilevel: the level it trains at by default (search.level=auto)
    data_use      which training images its steps read (search.json's data.uses)
    protocol      its published run; None for a method with bases
    bases         the bases it runs on (search.gaea_base), each with its own published run
    arch_lr       the config key of its arch (ENAS: controller) learning rate; None: it takes no arch updates
    arch_updates  its arch updates in a run of cfg, given the weight steps per epoch
    score_name    what its own score of an arch is (method_scores.csv)
    published     its published result on NB201
    path_sampler  whether it trains on paths drawn by train.sampler (RSPS); the others refuse a non-uniform one
    """

    name: str
    method_class: str
    level: str
    data_use: str
    protocol: Protocol | None = None
    bases: Mapping[str, Protocol] = field(default_factory=dict)
    arch_lr: str | None = "search.arch_lr"
    arch_updates: Callable[[Config, int], int] = weight_step_updates
    score_name: str = "log-probability under the arch distribution"
    published: Published | None = None
    path_sampler: bool = False

    def __post_init__(self) -> None:
        if (self.protocol is None) == (not self.bases):
            raise ValueError(f"search method {self.name}: give it a protocol or bases, not both or neither")

    def protocol_for(self, base: str) -> Protocol:
        """The method's published run (on `base`, for a method with bases)."""
        return self.bases[base] if self.bases else self.protocol
