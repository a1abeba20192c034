"""Few-batch fine-tuning of one subnet's inherited weights before it is scored, undone exactly afterwards.

`eval.finetune_batches` SGD steps train the weights on the subnet's path (ops off the path get no gradient,
so no update, no weight decay and no momentum) on augmented training batches drawn with a seed of their own
per arch, so a subnet's fine-tuned score does not depend on which subnets were scored before it. Every
parameter and buffer (BN running statistics too) is copied before and copied back in place after: on CPU a
copy and restore of the whole supernet took under 1% of one fine-tuning step (C=8, N=1: 10 ms against
1.3 s; C=16, N=5: 52 ms against 31 s), so tracking which tensors the path touched would save nothing.
"""
from __future__ import annotations

import hashlib
import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.supernets.data import DeviceImages
from wsnas.supernets.runtime import Runtime


@dataclass(frozen=True)
class FineTuning:
    """How to fine-tune each subnet: `batches` SGD steps at a constant `lr` on `data`."""

    data: DeviceImages
    batches: int
    lr: float
    batch_size: int
    momentum: float
    weight_decay: float
    grad_clip: float
    seed: int

    @classmethod
    def from_config(cls, cfg: Config, data: DeviceImages, batches: int | None = None) -> FineTuning | None:
        """eval.finetune_batches (or `batches`) steps at eval.finetune_lr, with the training's batch size,
        momentum, weight decay and clipping; None when there is nothing to fine-tune."""
        n = cfg.eval.finetune_batches if batches is None else batches
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise WsnasError(f"eval.finetune_batches={n!r} must be a whole number >= 0 (0 = no fine-tuning)")
        if n == 0:
            return None
        if not cfg.eval.finetune_lr > 0:
            raise WsnasError(f"eval.finetune_lr={cfg.eval.finetune_lr!r} must be > 0, e.g. 0.01")
        if data.num_batches(cfg.train.batch_size, drop_last=True) == 0:
            raise WsnasError(f"fine-tuning needs one batch of train.batch_size={cfg.train.batch_size} images but "
                             f"data.n_train gives {len(data)}; lower train.batch_size or raise data.n_train")
        t = cfg.train
        return cls(data, n, cfg.eval.finetune_lr, t.batch_size, t.momentum, t.weight_decay, t.grad_clip, cfg.eval.seed)

    def seed_for(self, arch: Any) -> int:
        """The seed of `arch`'s fine-tuning batches (order and augmentation): eval.seed and the arch only."""
        digest = hashlib.sha256(f"{self.seed}|{arch!r}".encode()).digest()
        return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _batches(ft: FineTuning, arch: Any, rt: Runtime) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """ft.batches augmented training batches for `arch`, passing over the data again if it runs out."""
    gen = torch.Generator().manual_seed(ft.seed_for(arch))
    passes = (ft.data.batches(ft.batch_size, shuffle=True, augment=True, generator=gen, drop_last=True,
                              channels_last=rt.batches_channels_last) for _ in itertools.count())
    return itertools.islice(itertools.chain.from_iterable(passes), ft.batches)


def finetune_path(model: nn.Module, arch: Any, ft: FineTuning, rt: Runtime) -> None:
    """Train `arch`'s path of `model` in place for ft.batches SGD steps (a fresh optimizer, no schedule)."""
    opt = torch.optim.SGD(model.parameters(), lr=ft.lr, momentum=ft.momentum, weight_decay=ft.weight_decay,
                          nesterov=ft.momentum > 0)
    model.train()
    with torch.enable_grad():
        for x, y in _batches(ft, arch, rt):
            with rt.autocast():
                loss = nn.functional.cross_entropy(model(x, arch), y)
            opt.zero_grad(set_to_none=True)  # ops off the path keep grad None: SGD leaves them alone
            loss.backward()
            if ft.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), ft.grad_clip)
            opt.step()


@contextmanager
def finetuned(model: nn.Module, arch: Any, ft: FineTuning | None, rt: Runtime) -> Iterator[None]:
    """Inside the block `model` has `arch`'s path fine-tuned; on leaving it every parameter and buffer is
    bit-identical to before and no gradient is left behind. With `ft` None the block runs on `model` as is."""
    if ft is None:
        yield
        return
    tensors = [*model.parameters(), *model.buffers()]
    snapshot = [t.detach().clone() for t in tensors]
    was_training = model.training
    try:
        finetune_path(model, arch, ft, rt)
        yield
    finally:
        with torch.no_grad():
            for tensor, saved in zip(tensors, snapshot):
                tensor.copy_(saved)
        model.zero_grad(set_to_none=True)
        model.train(was_training)
