"""The strict-fairness path sampler of FairNAS (Chu et al., "FairNAS: Rethinking Evaluation Fairness of Weight
Sharing Neural Architecture Search", 2019; train.sampler=strict_fair).

Each training step draws m paths, m = the most choices any slot has, so that over the m paths every choice of every
slot appears: the m paths' gradients add up and the optimiser makes ONE update (FairNAS Algorithm 1). A slot with m
choices takes a uniform random permutation of them, so each appears exactly once per step. A slot with k < m
choices (spaces whose slots differ in size) takes a random permutation of its k choices padded with m - k uniform
draws of them, the whole column shuffled: each choice appears at least once per step, and the extra draws favour
none. A space without per-slot choices (SearchSpace.slots) cannot be sampled this way: one clear error.
"""
from __future__ import annotations

import random
from typing import Any, Hashable, Sequence

from wsnas.benchmarks.space import SearchSpace, SpaceError
from wsnas.core.errors import WsnasError


class StrictFairSampler:
    """Draws the m paths of each training step from a seeded stream (see the module docstring)."""

    def __init__(self, space: SearchSpace, seed: Any, pool: Sequence[Any] | None = None) -> None:
        if pool is not None:
            raise WsnasError("train.sampler=strict_fair trains every choice of every slot each step, which a "
                             "train.arch_pool may exclude; use uniform or unique with an arch pool")
        try:
            self.slots = space.slots()
        except SpaceError:
            raise WsnasError(f"train.sampler=strict_fair needs a space of one choice per slot, and space "
                             f"{space.name!r} declares none (SearchSpace.slots); choose train.sampler=uniform"
                             ) from None
        self.space = space
        self.paths_per_step = max(len(slot.choices) for slot in self.slots)
        self.rng = random.Random(str(seed))

    def step(self) -> list[Any]:
        """The m paths of one training step, every choice of every slot among them."""
        columns = [self._column(slot.choices) for slot in self.slots]
        return [self.space.arch_from_choices(choices) for choices in zip(*columns)]

    def _column(self, choices: Sequence[Hashable]) -> list[Hashable]:
        """One slot's choice on each of the m paths: each choice once, padded with uniform draws, shuffled."""
        column = list(choices) + [choices[self.rng.randrange(len(choices))]
                                  for _ in range(self.paths_per_step - len(choices))]
        self.rng.shuffle(column)
        return column
