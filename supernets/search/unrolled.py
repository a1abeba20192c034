"""DARTS-V2's second-order arch gradient (Liu et al., 2019, eq. 7-8, as xautodl's DARTS-V2 computes it).

With w' = w - lr * (momentum * buffer + dL_train/dw + wd * w), one virtual SGD step of the weight optimiser, the arch
gradient is dL_val(w', a)/da - lr * H v, where v = dL_val(w', a)/dw' and H v = d^2 L_train(w, a)/(da dw) v is the
finite difference (dL_train(w + eps v, a)/da - dL_train(w - eps v, a)/da) / (2 eps), eps = r / ||v||.

The weights are moved in place and restored exactly from a copy (no drift from adding and subtracting).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

Loss = Callable[[], torch.Tensor]  # recomputes a loss through the model's current weights and the arch parameters


def gradients(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """d loss / d params, zeros for parameters the loss does not reach."""
    grads = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


@torch.no_grad()
def _assign(params: Sequence[torch.Tensor], values: Sequence[torch.Tensor]) -> None:
    for p, v in zip(params, values):
        p.copy_(v)


def finite_difference_hvp(train_loss: Loss, weights: Sequence[torch.Tensor], alphas: Sequence[torch.Tensor],
                          vector: Sequence[torch.Tensor], r: float = 0.01) -> list[torch.Tensor]:
    """(d^2 L_train / (d alpha d w)) `vector` by central differences of dL_train/dalpha at w +- eps * vector,
    eps = r / ||vector||; the weights are restored exactly afterwards."""
    saved = [w.detach().clone() for w in weights]
    eps = r / torch.sqrt(sum((v * v).sum() for v in vector)).clamp_min(1e-12)
    _assign(weights, [w + eps * v for w, v in zip(saved, vector)])
    plus = gradients(train_loss(), alphas)
    _assign(weights, [w - eps * v for w, v in zip(saved, vector)])
    minus = gradients(train_loss(), alphas)
    _assign(weights, saved)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def unrolled_arch_grad(train_loss: Loss, valid_loss: Loss, weights: Sequence[torch.Tensor],
                       alphas: Sequence[torch.Tensor], optimizer: torch.optim.Optimizer,
                       r: float = 0.01) -> tuple[list[torch.Tensor], torch.Tensor]:
    """DARTS-V2's gradient of the arch loss with respect to `alphas` (and the arch loss at w').

    The virtual step uses the optimiser's first group's lr, momentum and weight decay and each weight's momentum
    buffer (zero before the first step), as xautodl does; the weights are restored exactly afterwards."""
    group = optimizer.param_groups[0]
    lr, momentum, decay = group["lr"], group.get("momentum", 0.0), group.get("weight_decay", 0.0)
    saved = [w.detach().clone() for w in weights]
    grads = gradients(train_loss(), weights)
    with torch.no_grad():
        stepped = []
        for param, w, g in zip(weights, saved, grads):
            buffer = optimizer.state.get(param, {}).get("momentum_buffer")
            step = g + decay * w if buffer is None else momentum * buffer + g + decay * w
            stepped.append(w - lr * step)
    _assign(weights, stepped)
    loss = valid_loss()
    outer = gradients(loss, [*alphas, *weights])
    d_alpha, vector = outer[:len(alphas)], outer[len(alphas):]
    _assign(weights, saved)
    implicit = finite_difference_hvp(train_loss, weights, alphas, vector, r)
    return [d - lr * h for d, h in zip(d_alpha, implicit)], loss.detach()
