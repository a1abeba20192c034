"""GDAS: a hard Gumbel-softmax sample, straight-through, one path per step; tau linear in epochs."""
from __future__ import annotations

from typing import Any

from wsnas.supernets.search.base import AlphaMethod, Context
from wsnas.supernets.search.unrolled import gradients


class GDAS(AlphaMethod):
    """GDAS: the weight step runs one path drawn from softmax(alpha); the arch step runs a straight-through hard
    Gumbel sample (one path, scaled by its weight, whose gradient reaches every alpha of the slot)."""

    name = "gdas"

    def weight_arch(self) -> Any:
        return self._sampled_arch()

    def arch_step(self, ctx: Context, weight_batch, arch_batch) -> float | None:
        loss = ctx.loss(*arch_batch, self._hard_sample())
        self._apply(gradients(loss, self.params))
        return float(loss.detach())
