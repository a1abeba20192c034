"""RSPS, random search with parameter sharing: uniform paths (train.sampler); derives the best of
search.candidates random archs, each scored on one arch batch (Li & Talwalkar, 2019; xautodl RANDOM-NAS); ranks
archs by accuracy on one fixed set of search.rank_batches arch batches, the same for every arch."""
from __future__ import annotations

import math
import random
from typing import Any, Hashable, Sequence

import numpy as np

from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.samplers import PathSampler
from wsnas.supernets.search.base import BatchScorer, Context, Method, best_of


class RSPS(Method):
    """Random search with parameter sharing."""

    name = "rsps"
    needs_slots = False  # it samples whole archs: it runs on a space without slots (nb101), with no shares

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
        return best_of(ctx, scorer, candidates), f"best one-batch accuracy of {len(candidates)} random archs"

    def shares(self) -> list[dict[Hashable, float]]:
        return uniform_shares(self.slots)

    def entropy(self) -> float:
        """The entropy of its uniform choice per slot; undefined (NaN) for a space without slots."""
        return float(sum(math.log(len(slot.choices)) for slot in self.slots)) if self.slots else math.nan

    def rank_scores(self, ctx: Context, scorer: BatchScorer, archs: Sequence[Any]) -> np.ndarray:
        """RSPS ranks by accuracy on the arch data, every arch on the same search.rank_batches batches (one
        batch per arch, as its selection scores them, would add each batch's luck to the ranking)."""
        batches = scorer.fixed(self.cfg.search.rank_batches)
        return np.array([scorer.on(ctx.model, arch, batches) for arch in archs])


def uniform_shares(slots) -> list[dict[Hashable, float]]:
    return [dict.fromkeys(slot.choices, 1.0 / len(slot.choices)) for slot in slots]
