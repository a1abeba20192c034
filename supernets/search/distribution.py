"""Factorised arch distributions: one vector of arch parameters per slot, and the slot entries made from them.

A slot's vector is either logits (DARTS, GDAS, SNAS: p = softmax(alpha)) or the probabilities themselves, kept on
the simplex (GAEA's exponentiated-gradient update). Choices in search.exclude get no parameter: they have
probability zero and never appear in a mixture, a sample or a derived arch.
"""
from __future__ import annotations

import math
from typing import Hashable, Sequence

import numpy as np
import torch
from torch import nn

from wsnas.benchmarks.space import Slot
from wsnas.core.errors import WsnasError
from wsnas.supernets.selection import Mix, Pick


class SlotParameters(nn.Module):
    """Arch parameters of a factorised distribution over one choice per slot (a module of its own, never part of
    the supernet: the weight optimiser cannot see them).

    `simplex`: each slot's vector is a probability vector (initialised uniform); else logits initialised as
    `init_mean + init_std * N(0, 1)` (xautodl: 1e-3 * randn) from `generator`.
    """

    def __init__(self, slots: Sequence[Slot], exclude: Sequence[Hashable] = (), simplex: bool = False,
                 init_mean: float = 0.0, init_std: float = 1e-3, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.slots = tuple(slots)
        self.simplex = simplex
        self.allowed: tuple[tuple[Hashable, ...], ...] = tuple(
            tuple(c for c in slot.choices if c not in set(exclude)) for slot in self.slots)
        for slot, allowed in zip(self.slots, self.allowed):
            if not allowed:
                raise WsnasError(f"search.exclude={list(exclude)} leaves slot {slot.name!r} no choice; exclude fewer")
        if simplex:
            values = [torch.full((len(a),), 1.0 / len(a)) for a in self.allowed]
        else:
            values = [init_mean + init_std * torch.randn(len(a), generator=generator) for a in self.allowed]
        self.alphas = nn.ParameterList(nn.Parameter(v) for v in values)

    # ------------------------------------------------------------------------------------- the distribution

    def log_probs(self) -> list[torch.Tensor]:
        """log p(choice) per slot, over the allowed choices."""
        if self.simplex:
            return [a.log() for a in self.alphas]
        return [torch.log_softmax(a, dim=0) for a in self.alphas]

    def probs(self) -> list[torch.Tensor]:
        """p(choice) per slot, over the allowed choices."""
        return [a if self.simplex else torch.softmax(a, dim=0) for a in self.alphas]

    @torch.no_grad()
    def entropy(self) -> float:
        """Entropy (nats) of the joint distribution: the sum of the slots' entropies."""
        return float(sum(-(p * lp).sum() for p, lp in zip(self.probs(), self.log_probs())))

    @torch.no_grad()
    def shares(self) -> list[dict[Hashable, float]]:
        """p(choice) of every choice of every slot (0 for excluded ones)."""
        return self.per_choice(self.probs())

    @torch.no_grad()
    def per_choice(self, weights: Sequence[torch.Tensor]) -> list[dict[Hashable, float]]:
        """Weight vectors over the allowed choices as {choice: weight} for every choice of every slot (0 for
        excluded ones): what SearchSpace.arch_from_weights reads."""
        out = []
        for slot, allowed, w in zip(self.slots, self.allowed, weights):
            share = dict.fromkeys(slot.choices, 0.0)
            share.update(zip(allowed, w.tolist()))
            out.append(share)
        return out

    @torch.no_grad()
    def log_prob(self, archs_choices: Sequence[Sequence[Hashable]]) -> np.ndarray:
        """log p(arch) of each arch (given as its choices per slot); -inf for an arch holding an excluded choice."""
        tables = [dict(zip(allowed, lp.tolist())) for allowed, lp in zip(self.allowed, self.log_probs())]
        return np.array([sum(table.get(c, -math.inf) for table, c in zip(tables, choices))
                         for choices in archs_choices])

    # --------------------------------------------------------------------------------------- slot entries

    def mixture(self, weights: Sequence[torch.Tensor]) -> tuple[Mix, ...]:
        """One Mix per slot with the given weight vectors (over the allowed choices)."""
        return tuple(Mix(allowed, w) for allowed, w in zip(self.allowed, weights))

    def picks(self, weights: Sequence[torch.Tensor]) -> tuple[Pick, ...]:
        """One Pick per slot: the argmax of each weight vector, scaled by its (straight-through) weight."""
        entries = []
        for allowed, w in zip(self.allowed, weights):
            k = int(w.detach().argmax())
            entries.append(Pick(allowed[k], w[k]))
        return tuple(entries)


def gumbel_softmax(log_p: torch.Tensor, tau: float, generator: torch.Generator, hard: bool) -> torch.Tensor:
    """A Gumbel-softmax sample over one slot: softmax((log_p + g) / tau), g ~ Gumbel(0, 1) drawn on the CPU from
    `generator` (so a seed gives the same noise on any device).

    hard: the one-hot of its argmax in the forward pass with the soft sample's gradient (straight-through:
    one_hot - soft.detach() + soft); its argmax is a draw from softmax(log_p), whatever tau."""
    noise = -torch.empty(log_p.shape).exponential_(generator=generator).log().to(log_p.device, log_p.dtype)
    soft = torch.softmax((log_p + noise) / tau, dim=0)
    if not hard:
        return soft
    one_hot = torch.zeros_like(soft).scatter_(0, soft.detach().argmax().view(1), 1.0)
    return one_hot - soft.detach() + soft


def linear_tau(tau_max: float, tau_min: float, epoch: int, epochs: int, warmup: int = 0) -> float:
    """The temperature at `epoch`: linear from tau_max (at the first epoch after `warmup`) towards tau_min (the last
    epoch), as xautodl's GDAS (and, with a warm-up, GAEA's GDAS) schedule it."""
    return tau_max - (tau_max - tau_min) * max(epoch - warmup, 0) / max(epochs - 1, 1)
