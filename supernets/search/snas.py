"""SNAS: a soft Gumbel-softmax mixture, weights and arch updated by one joint step (single level), with an optional
resource penalty lambda * E[cost]."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wsnas.benchmarks.slot_costs import slot_costs
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.search.base import AlphaMethod
from wsnas.supernets.search.distribution import gumbel_softmax


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
