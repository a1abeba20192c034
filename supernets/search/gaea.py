"""GAEA: exponentiated-gradient (mirror descent) arch update on the simplex, on a darts (mixture) or gdas (hard
Gumbel) base, single level (ERM) or bilevel."""
from __future__ import annotations

from typing import Any

import torch

from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import Config
from wsnas.supernets.runtime import Runtime
from wsnas.supernets.search.base import AlphaMethod, Context
from wsnas.supernets.search.unrolled import gradients


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
            return self._sampled_arch()
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
