"""DARTS-V1: a softmax mixture on every slot, first-order arch step with Adam on the arch split; DARTS-V2: the same
with the unrolled second-order arch gradient (finite-difference Hessian-vector product), in fp32 whatever the
runtime."""
from __future__ import annotations

from typing import Any

import torch

from wsnas.supernets.search.base import AlphaMethod, Context
from wsnas.supernets.search.unrolled import Loss, gradients, unrolled_arch_grad


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
