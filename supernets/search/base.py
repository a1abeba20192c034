"""The search methods: the arch each runs in a weight step, how it updates its arch parameters or controller, the
arch it derives and its own ranking of archs.

    rsps      uniform paths (train.sampler); derives the best of search.candidates random archs, each scored on one
              arch batch (Li & Talwalkar, 2019; xautodl RANDOM-NAS); ranks archs by accuracy on one fixed set of
              search.rank_batches arch batches, the same for every arch
    enas      paths from an LSTM controller trained by REINFORCE on one-batch accuracy after each epoch; derives
              the best of search.candidates controller samples (xautodl ENAS), logs the greedy arch each epoch
    darts-v1  softmax mixture on every slot; first-order arch step with Adam on the arch split
    darts-v2  as darts-v1 with the unrolled second-order arch gradient (finite-difference Hessian-vector product),
              in fp32 whatever the runtime
    gdas      hard Gumbel-softmax sample, straight-through, one path per step; tau linear in epochs
    snas      soft Gumbel-softmax mixture, weights and arch updated by one joint step (single level), with an
              optional resource penalty lambda * E[cost]
    gaea      exponentiated-gradient (mirror descent) arch update on the simplex, on a darts (mixture) or gdas
              (hard Gumbel) base, single level (ERM) or bilevel

Every weight step's arch entries for the supernet are built without a graph to the arch parameters except SNAS's
(its step is joint), so the weight gradient never depends on which method ran.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Hashable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from wsnas.benchmarks.slot_costs import slot_costs
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.supernets.data import DeviceImages
from wsnas.supernets.evaluate import accuracy_and_loss
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.samplers import PathSampler
from wsnas.supernets.search.controller import Controller
from wsnas.supernets.search.distribution import SlotParameters, gumbel_softmax, linear_tau
from wsnas.supernets.search.unrolled import Loss, gradients, unrolled_arch_grad

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


class Method:
    """A search method (the module docstring lists them). Subclasses override what they use."""

    name = ""
    relaxed = False      # needs a supernet that runs Mix / Pick entries
    arch_first = False   # arch step before the weight step (else after)

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        if cfg.search.exclude and not self.relaxed:
            raise WsnasError(f"search.exclude applies to methods with arch parameters, not {cfg.search.method}; "
                             f"set search.exclude=[]")
        self.cfg, self.space, self.rt = cfg, space, rt
        self.slots = space.slots()
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


def _uniform_shares(slots) -> list[dict[Hashable, float]]:
    return [dict.fromkeys(slot.choices, 1.0 / len(slot.choices)) for slot in slots]


def _best_of(ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> Any:
    """The arch of highest one-batch accuracy (the first of ties)."""
    scores = [scorer(ctx.model, arch) for arch in archs]
    return archs[int(np.argmax(scores))]


# ---------------------------------------------------------------------------------------------------- RSPS

class RSPS(Method):
    """Random search with parameter sharing."""

    name = "rsps"

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        super().__init__(cfg, space, rt)
        if cfg.search.rank_batches < 1:
            raise WsnasError(f"search.rank_batches={cfg.search.rank_batches}: RSPS ranks on at least 1 arch batch")

    def begin_epoch(self, epoch: int, seed: int) -> None:
        super().begin_epoch(epoch, seed)
        self.sampler = PathSampler(self.space, self.cfg.train.sampler, seed)
        self.candidate_rng = random.Random(f"candidates-{seed}")

    def weight_arch(self) -> Any:
        return self.sampler()

    def derive(self, ctx: Context, scorer: BatchScorer, final: bool) -> tuple[Any, str]:
        candidates = [self.space.random_arch(self.candidate_rng) for _ in range(self.cfg.search.candidates)]
        return _best_of(ctx, scorer, candidates), f"best one-batch accuracy of {len(candidates)} random archs"

    def shares(self) -> list[dict[Hashable, float]]:
        return _uniform_shares(self.slots)

    def entropy(self) -> float:
        return float(sum(math.log(len(slot.choices)) for slot in self.slots))

    def rank_scores(self, ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> np.ndarray:
        """RSPS ranks by accuracy on the arch data, every arch on the same search.rank_batches batches (one
        batch per arch, as its selection scores them, would add each batch's luck to the ranking)."""
        batches = scorer.fixed(self.cfg.search.rank_batches)
        return np.array([scorer.on(ctx.model, arch, batches) for arch in archs])


# ---------------------------------------------------------------------------------------------------- ENAS

class ENAS(Method):
    """ENAS: controller-sampled paths, REINFORCE on one-batch accuracy with an entropy bonus and a moving baseline."""

    name = "enas"

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        super().__init__(cfg, space, rt)
        s = cfg.search
        self.controller = Controller([len(slot.choices) for slot in self.slots], s.controller_hidden,
                                     s.controller_layers, s.controller_tanh, s.controller_temperature)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=s.controller_lr,
                                          betas=tuple(s.controller_betas), eps=s.controller_eps)
        self.baseline: float | None = None

    def begin_epoch(self, epoch: int, seed: int) -> None:
        super().begin_epoch(epoch, seed)
        self.generator = torch.Generator().manual_seed(seed)

    def _archs(self, indices: torch.Tensor) -> list[Any]:
        return [self.arch([slot.choices[i] for slot, i in zip(self.slots, row.tolist())]) for row in indices]

    @torch.no_grad()
    def weight_arch(self) -> Any:
        return self._archs(self.controller(1, self.generator).indices)[0]

    def end_epoch(self, ctx: Context, scorer: BatchScorer) -> dict[str, float]:
        """search.controller_steps updates, each averaging search.controller_aggregate samples: reward = accuracy
        in [0, 1] + entropy_weight * entropy, loss = -log_prob (reward - b), gradient norm clipped (as xautodl's
        train_controller), with the moving-average baseline b <- b - (1 - decay) (b - reward) updated after every
        sample, as in the ENAS paper (xautodl computes each sample's from the previous epoch's baseline)."""
        s = self.cfg.search
        self.controller.train()
        rewards, entropies = [], []
        for _ in range(s.controller_steps):
            decisions = self.controller(s.controller_aggregate, self.generator)
            advantages = []
            for arch, entropy in zip(self._archs(decisions.indices), decisions.entropy.tolist()):
                accuracy = scorer(ctx.model, arch) / 100.0
                reward = accuracy + s.controller_entropy_weight * entropy
                self.baseline = accuracy if self.baseline is None else (
                    self.baseline - (1 - s.controller_baseline_decay) * (self.baseline - reward))
                advantages.append(reward - self.baseline)
                rewards.append(reward)
                entropies.append(entropy)
            loss = -(decisions.log_prob * torch.tensor(advantages)).sum() / s.controller_aggregate
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if s.controller_grad_clip > 0:
                nn.utils.clip_grad_norm_(self.controller.parameters(), s.controller_grad_clip)
            self.optimizer.step()
        ctx.model.train()
        return {"reward": float(np.mean(rewards)), "baseline": float(self.baseline),
                "controller_entropy": float(np.mean(entropies))}

    @torch.no_grad()
    def derive(self, ctx: Context, scorer: BatchScorer, final: bool) -> tuple[Any, str]:
        if not final:
            return self.greedy(), "the controller's greedy arch"
        samples = self._archs(self.controller(self.cfg.search.candidates, self.generator).indices)
        return _best_of(ctx, scorer, samples), f"best one-batch accuracy of {len(samples)} controller samples"

    @torch.no_grad()
    def greedy(self) -> Any:
        return self._archs(self.controller(1, greedy=True).indices)[0]

    @torch.no_grad()
    def _estimate(self) -> Any:
        """search.candidates samples from a fixed seed (the same each epoch): the estimates' noise does not change
        between epochs, only the controller does."""
        return self.controller(max(self.cfg.search.candidates, 1), torch.Generator().manual_seed(0))

    def shares(self) -> list[dict[Hashable, float]]:
        """Each slot's marginal choice probabilities, estimated as the mean of its conditional distributions
        over sampled prefixes."""
        probs = self._estimate().probs
        return [dict(zip(slot.choices, p.mean(dim=0).tolist())) for slot, p in zip(self.slots, probs)]

    def entropy(self) -> float:
        """The joint entropy, estimated as the mean over samples of the summed per-decision entropies."""
        return float(self._estimate().entropy.mean())

    @torch.no_grad()
    def rank_scores(self, ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> np.ndarray:
        """The controller's log-likelihood of each arch."""
        given = torch.tensor([[slot.choices.index(c) for slot, c in zip(self.slots, self.space.choices_of(arch))]
                              for arch in archs], dtype=torch.long)
        return self.controller(given=given).log_prob.numpy().astype(float)

    def state_dict(self) -> dict[str, Any]:
        return {"controller": self.controller.state_dict(), "optimizer": self.optimizer.state_dict(),
                "baseline": self.baseline}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]


# ------------------------------------------------------------------------------- methods with arch parameters

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
        return self.arch(self.alphas.argmax()), "argmax of each slot's arch weights"

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
    def _sampled_choices(self) -> tuple[Hashable, ...]:
        """Choices drawn from the arch distribution by Gumbel-argmax (the weight step of GDAS-like methods)."""
        return self.alphas.choices([gumbel_softmax(lp, 1.0, self.generator, hard=False)
                                    for lp in self.alphas.log_probs()])

    def _hard_sample(self) -> tuple:
        """Straight-through hard Gumbel picks at the current tau, with a graph to the arch parameters."""
        return self.alphas.picks([gumbel_softmax(lp, self.tau, self.generator, hard=True)
                                  for lp in self.alphas.log_probs()])


class DARTS(AlphaMethod):
    """DARTS-V1 (first order) and, with `unrolled`, DARTS-V2."""

    name = "darts-v1"
    unrolled = False

    @torch.no_grad()
    def weight_arch(self) -> Any:
        return self.alphas.mixture(self.alphas.probs())

    def arch_step(self, ctx: Context, weight_batch, arch_batch) -> float | None:
        if self.unrolled:
            train_loss, valid_loss = self.unrolled_losses(ctx, weight_batch, arch_batch)
            weights = [p for p in ctx.model.parameters() if p.requires_grad]
            grads, loss = unrolled_arch_grad(train_loss, valid_loss, weights, self.params, ctx.optimizer,
                                             self.cfg.search.unrolled_r)
        else:
            loss = ctx.loss(*arch_batch, self.alphas.mixture(self.alphas.probs()))
            grads = gradients(loss, self.params)
        self._apply(grads)
        return float(loss.detach())

    def unrolled_losses(self, ctx: Context, weight_batch, arch_batch) -> tuple[Loss, Loss]:
        """DARTS-V2's training and validation losses through the current weights and arch parameters, in fp32
        whatever the runtime: the finite-difference step moves the weights by r = 0.01 in all, far below bf16's
        resolution of each weight, so under bf16 autocast the Hessian-vector product would be rounding noise."""
        def loss(batch) -> Loss:
            return lambda: ctx.loss(*batch, self.alphas.mixture(self.alphas.probs()), fp32=True)

        return loss(weight_batch), loss(arch_batch)

    def stats(self) -> dict[str, float]:
        return {}


class DARTSV2(DARTS):
    name = "darts-v2"
    unrolled = True
    arch_first = True  # xautodl's DARTS-V2 takes the arch step first (it reads the weight optimiser's state)


class GDAS(AlphaMethod):
    """GDAS: the weight step runs one path drawn from softmax(alpha); the arch step runs a straight-through hard
    Gumbel sample (one path, scaled by its weight, whose gradient reaches every alpha of the slot)."""

    name = "gdas"

    def weight_arch(self) -> Any:
        return self.arch(self._sampled_choices())

    def arch_step(self, ctx: Context, weight_batch, arch_batch) -> float | None:
        loss = ctx.loss(*arch_batch, self._hard_sample())
        self._apply(gradients(loss, self.params))
        return float(loss.detach())


class SNAS(AlphaMethod):
    """SNAS: a soft Gumbel-softmax mixture in a single joint step on training batches; the weights take their SGD
    step and the arch parameters their Adam step from the same backward pass. With search.resource_lambda > 0 the
    loss adds lambda * E[cost], the exact expected cost (search.resource, e.g. params_M on the benchmark skeleton)
    under the current distribution, so only the arch parameters feel it."""

    name = "snas"
    init_mean, init_std = 1.0, 0.01  # SNAS's log-alphas start at N(1, 0.01) (loc_mean, loc_std)

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        super().__init__(cfg, space, rt)
        s = cfg.search
        self.costs = slot_costs(space, s.resource) if s.resource_lambda else None
        if self.costs is not None:
            self.cost_vectors = [torch.tensor([self.costs.per_slot[i][c] for c in allowed], device=rt.device)
                                 for i, allowed in enumerate(self.alphas.allowed)]

    def updates_arch(self) -> bool:
        return True

    def weight_arch(self) -> Any:
        with torch.set_grad_enabled(super().updates_arch()):  # a graph to the alphas only when they are updated
            return self.alphas.mixture([gumbel_softmax(lp, self.tau, self.generator, hard=False)
                                        for lp in self.alphas.log_probs()])

    def expected_cost(self) -> torch.Tensor:
        return self.costs.base + sum((p * c).sum() for p, c in zip(self.alphas.probs(), self.cost_vectors))

    def weight_penalty(self) -> torch.Tensor | None:
        if self.costs is None or not super().updates_arch():
            return None
        return self.cfg.search.resource_lambda * self.expected_cost()

    def after_weight_step(self) -> None:
        if not super().updates_arch():
            return
        if self.cfg.search.arch_grad_clip > 0:
            nn.utils.clip_grad_norm_(self.params, self.cfg.search.arch_grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def stats(self) -> dict[str, float]:
        out = {"tau": self.tau}
        if self.costs is not None:
            with torch.no_grad():
                out[f"expected_{self.cfg.search.resource}"] = float(self.expected_cost())
        return out


class GAEA(AlphaMethod):
    """GAEA: exponentiated-gradient arch updates on the simplex (alpha <- alpha * exp(-lr * grad), clamped at
    search.eg_clamp, renormalised per slot), with an entropic regulariser weighted by search.arch_weight_decay
    (sum alpha log(k alpha)), on a darts base (the mixture weights are alpha itself) or a gdas base (hard Gumbel
    samples from log alpha)."""

    name = "gaea"
    simplex = True

    def __init__(self, cfg: Config, space: SearchSpace, rt: Runtime) -> None:
        super().__init__(cfg, space, rt)
        self.base = cfg.search.gaea_base
        self.arch_first = True  # GAEA's train loop: architect.step, then the weight step

    def weight_arch(self) -> Any:
        if self.base == "gdas":
            return self.arch(self._sampled_choices())
        with torch.no_grad():
            return self.alphas.mixture(self.alphas.probs())

    def arch_step(self, ctx: Context, weight_batch, arch_batch) -> float | None:
        s = self.cfg.search
        entries = self._hard_sample() if self.base == "gdas" else self.alphas.mixture(self.alphas.probs())
        loss = ctx.loss(*arch_batch, entries)
        objective = loss
        if s.arch_weight_decay:
            objective = loss + s.arch_weight_decay * sum((a * (a * len(a)).log()).sum() for a in self.params)
        grads = gradients(objective, self.params)
        if s.arch_grad_clip > 0:
            norm = torch.sqrt(sum((g * g).sum() for g in grads))
            grads = [g * min(1.0, s.arch_grad_clip / (float(norm) + 1e-6)) for g in grads]
        with torch.no_grad():
            for a, g in zip(self.params, grads):
                a.mul_(torch.exp(-s.arch_lr * g)).clamp_(min=s.eg_clamp)
                a.div_(a.sum())
        return float(loss.detach())

    def stats(self) -> dict[str, float]:
        return {"tau": self.tau} if self.base == "gdas" else {}


METHOD_CLASSES: dict[str, type[Method]] = {
    "rsps": RSPS, "enas": ENAS, "darts-v1": DARTS, "darts-v2": DARTSV2, "gdas": GDAS, "snas": SNAS, "gaea": GAEA}


def make_method(cfg: Config, space: SearchSpace, rt: Runtime, relaxed_supernet: bool) -> Method:
    """The method of cfg.search.method, its arch parameters or controller initialised from train.seed."""
    cls = METHOD_CLASSES[cfg.search.method]
    if cls.relaxed and not relaxed_supernet:
        raise WsnasError(f"search method {cfg.search.method} runs weighted mixtures or straight-through picks of "
                         f"choices, which the {cfg.space} supernet does not support (SupernetSpec.relaxed); use rsps "
                         f"or enas on this space")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        return cls(cfg, space, rt)
