"""The shared base of the search methods: the Context a step acts on, the one-batch scorer, the Method interface,
AlphaMethod (the methods with a factorised arch distribution) and make_method, which builds the method of
cfg.search.method from its record (wsnas.benchmarks.search_methods).

Every weight step's arch entries for the supernet are built without a graph to the arch parameters except SNAS's
(its step is joint), so the weight gradient never depends on which method ran.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Hashable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from wsnas.benchmarks.search_methods import method_record
from wsnas.benchmarks.errors import SpaceError
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.supernets.data import DeviceImages
from wsnas.supernets.evaluate import accuracy_and_loss
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.search.distribution import SlotParameters, gumbel_softmax, linear_tau

SCORE_BN = ("batch", "inherit")  # search.score_bn: how one-batch scores normalise (evaluate.BN_POLICIES' names)


@dataclass
class Context:
    """What a method's steps act on: the supernet, the loss, the runtime and the weight optimiser."""

    model: nn.Module
    criterion: nn.Module
    rt: Runtime
    optimizer: torch.optim.Optimizer

    def loss(self, x: torch.Tensor, y: torch.Tensor, arch: Any, fp32: bool = False) -> torch.Tensor:
        """The loss of `arch` on (x, y) in the runtime's precision, or in fp32 (autocast off) with `fp32`."""
        if fp32:
            with torch.autocast(self.rt.device.type, enabled=False):
                return self.criterion(self.model(x.float(), arch), y)
        with self.rt.autocast():
            return self.criterion(self.model(x, arch), y)


class BatchScorer:
    """One-batch accuracy (%) of archs on a seeded stream of unaugmented batches of the arch data, each arch on the
    next batch (xautodl's get_best_arch and ENAS reward), or on given batches (`fixed`, `on`); BatchNorm on each
    batch's own statistics (bn="batch", xautodl's BN=0) or on the running statistics of the search so far
    ("inherit", BN=1)."""

    def __init__(self, data: DeviceImages, batch_size: int, generator: torch.Generator, rt: Runtime,
                 bn: str = "batch") -> None:
        if data.num_batches(batch_size, drop_last=True) == 0:
            raise WsnasError(f"the arch data holds {len(data)} images, less than one batch of {batch_size}; raise "
                             f"data.n_train or search.arch_split")
        if bn not in SCORE_BN:
            raise WsnasError(f"search.score_bn={bn!r}; choose {' or '.join(SCORE_BN)}")
        self.rt, self.bn = rt, bn
        self.per_pass = data.num_batches(batch_size, drop_last=True)
        self._stream = _cycle(data, batch_size, generator, augment=False, rt=rt)

    def __call__(self, model: nn.Module, arch: Any) -> float:
        return self.on(model, arch, [next(self._stream)])

    def fixed(self, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The stream's next `n` batches (at most one pass: no image twice), to score several archs on the same."""
        return [next(self._stream) for _ in range(min(n, self.per_pass))]

    def on(self, model: nn.Module, arch: Any, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        """Accuracy (%) of `arch` over `batches`."""
        accuracy, _ = accuracy_and_loss(model, arch, batches, self.rt, self.bn)
        return accuracy


def _cycle(data: DeviceImages, batch_size: int, generator: torch.Generator, augment: bool,
           rt: Runtime) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled full batches of `data`, pass after pass, from `generator`."""
    while True:
        yield from data.batches(batch_size, shuffle=True, augment=augment, generator=generator, drop_last=True,
                                channels_last=rt.batches_channels_last)


def arch_batches(data: DeviceImages, batch_size: int, generator: torch.Generator,
                 rt: Runtime) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The augmented batches the arch steps read, pass after pass."""
    return _cycle(data, batch_size, generator, augment=True, rt=rt)


def _slots_if_any(space: SearchSpace) -> tuple:
    """The space's slots, or none for a space that declares none (its archs are still sampled whole)."""
    try:
        return tuple(space.slots())
    except SpaceError:
        return ()


class Method:
    """A search method: one subclass per method (rsps, enas, darts, gdas, snas, gaea here), which its record
    names (SearchMethod.method_class). Subclasses override what they use."""

    name = ""
    relaxed = False      # needs a supernet that runs Mix / Pick entries
    arch_first = False   # arch step before the weight step (else after)
    needs_slots = True   # sizes arch parameters or a controller from the space's slots (RSPS only samples archs)

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        if cfg.search.exclude and not self.relaxed:
            raise WsnasError(f"search.exclude applies to methods with arch parameters, not {cfg.search.method}; "
                             f"set search.exclude=[]")
        self.cfg, self.space, self.rt = cfg, space, rt
        self.slots = space.slots() if self.needs_slots else _slots_if_any(space)
        self.epoch = 0

    def begin_epoch(self, epoch: int, seed: int) -> None:
        """Per-epoch state (schedules, the epoch's random streams, seeded so a resumed epoch replays exactly)."""
        self.epoch = epoch

    def updates_arch(self) -> bool:
        """Whether this epoch takes arch steps (not during search.arch_warmup_epochs)."""
        return self.epoch >= self.cfg.search.arch_warmup_epochs

    def weight_arch(self) -> Any:
        raise NotImplementedError

    def weight_penalty(self) -> torch.Tensor | None:
        """A term added to the weight step's loss (SNAS's resource penalty)."""
        return None

    def after_weight_step(self) -> None:
        """Called after every weight step (SNAS's joint arch update)."""

    def arch_step(self, ctx: Context, weight_batch, arch_batch) -> float | None:
        """One arch update; returns the arch loss (None: this method takes no arch step)."""
        return None

    def end_epoch(self, ctx: Context, scorer: BatchScorer) -> dict[str, float]:
        """After the epoch's weight steps (ENAS trains its controller here); returns statistics to log."""
        return {}

    def derive(self, ctx: Context, scorer: BatchScorer, final: bool) -> tuple[Any, str]:
        """The derived arch and the rule that chose it."""
        raise NotImplementedError

    def shares(self) -> list[dict[Hashable, float]]:
        """p(choice) of every slot's choices under the method's arch distribution."""
        raise NotImplementedError

    def entropy(self) -> float:
        """Entropy (nats) of the arch distribution."""
        raise NotImplementedError

    def rank_scores(self, ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> np.ndarray:
        """The method's own score of each arch (higher = preferred): the log-probability of its arch distribution."""
        raise NotImplementedError

    def stats(self) -> dict[str, float]:
        """Per-epoch values to log (temperature, expected cost)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore state_dict()."""

    def arch(self, choices: Sequence[Hashable]) -> Any:
        return self.space.arch_from_choices(choices)


def best_of(ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> Any:
    """The arch of highest one-batch accuracy (the first of ties)."""
    scores = [scorer(ctx.model, arch) for arch in archs]
    return archs[int(np.argmax(scores))]


class AlphaMethod(Method):
    """A method with a factorised arch distribution (SlotParameters) and, unless it is GAEA, an Adam optimiser."""

    relaxed = True
    simplex = False
    init_mean, init_std = 0.0, 1e-3  # xautodl: 1e-3 * randn

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        super().__init__(cfg, space, rt)
        s = cfg.search
        self.alphas = SlotParameters(self.slots, s.exclude, self.simplex, self.init_mean, self.init_std).to(rt.device)
        self.params = list(self.alphas.parameters())
        self.optimizer = None if self.simplex else torch.optim.Adam(
            self.params, lr=s.arch_lr, betas=tuple(s.arch_betas), eps=s.arch_eps, weight_decay=s.arch_weight_decay)
        self.tau = s.tau_max

    def begin_epoch(self, epoch: int, seed: int) -> None:
        super().begin_epoch(epoch, seed)
        s = self.cfg.search
        self.generator = torch.Generator().manual_seed(seed)
        self.tau = linear_tau(s.tau_max, s.tau_min, epoch, self.cfg.train.epochs, s.arch_warmup_epochs)

    def _apply(self, grads: Sequence[torch.Tensor]) -> None:
        """Adam step on the arch parameters with `grads` (norm clipped to search.arch_grad_clip)."""
        for p, g in zip(self.params, grads):
            p.grad = g.detach().clone()
        if self.cfg.search.arch_grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.cfg.search.arch_grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def derive(self, ctx: Context, scorer: BatchScorer, final: bool) -> tuple[Any, str]:
        return self.space.arch_from_weights(self.alphas.shares()), self.space.weights_rule

    def shares(self) -> list[dict[Hashable, float]]:
        return self.alphas.shares()

    def entropy(self) -> float:
        return self.alphas.entropy()

    def rank_scores(self, ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> np.ndarray:
        return self.alphas.log_prob([self.space.choices_of(arch) for arch in archs])

    def stats(self) -> dict[str, float]:
        return {"tau": self.tau}

    def state_dict(self) -> dict[str, Any]:
        state = {"alphas": self.alphas.state_dict()}
        if self.optimizer is not None:
            state["optimizer"] = self.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.alphas.load_state_dict(state["alphas"])
        if self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])

    @torch.no_grad()
    def _sampled_arch(self) -> Any:
        """An arch drawn from the arch distribution (the weight step of GDAS-like methods): the space's derivation
        (arch_from_weights) from one Gumbel-softmax sample per slot, i.e. each slot's Gumbel-argmax choice where
        the slots are independent."""
        return self.space.arch_from_weights(self.alphas.per_choice(
            [gumbel_softmax(lp, 1.0, self.generator, hard=False) for lp in self.alphas.log_probs()]))

    def _hard_sample(self) -> tuple:
        """Straight-through hard Gumbel picks at the current tau, with a graph to the arch parameters."""
        return self.alphas.picks([gumbel_softmax(lp, self.tau, self.generator, hard=True)
                                  for lp in self.alphas.log_probs()])


def make_method(cfg: Config, space: SearchSpace, rt: Runtime, relaxed_supernet: bool) -> Method:
    """The method of cfg.search.method, its arch parameters or controller initialised from train.seed."""
    module, _, name = method_record(cfg.search.method).method_class.partition(":")
    cls: type[Method] = getattr(importlib.import_module(module), name)
    if cls.relaxed and not relaxed_supernet:
        raise WsnasError(f"search method {cfg.search.method} runs weighted mixtures or straight-through picks of "
                         f"choices, which the {cfg.space} supernet does not support (SupernetSpec.relaxed); use rsps "
                         f"or enas on this space")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        return cls(cfg, space, rt)
