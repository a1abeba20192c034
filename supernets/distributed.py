"""torch.distributed for wsnas: ranks from torchrun's environment, the process group, and global-batch BatchNorm.

Launch K processes with `torchrun --nproc_per_node=K -m wsnas.cli train ...` (multi-node: torchrun's usual
--nnodes/--rdzv options; the run directory must be on a filesystem every rank sees).

Training rule (supernets/train.py): every rank draws the same path at every step (the path stream is seeded per
epoch, so it is identical on all ranks) and takes a disjoint 1/K slice of every global batch of
train.batch_size images (the same shuffled, augmented order on all ranks). DDP averages the gradients and
GlobalBatchNorm2d normalises with the statistics of the whole global batch, so K ranks compute what one process
computes, up to float rounding: the number of ranks changes the speed, not the result. Ops off the shared path
get no gradient on any rank; DDP leaves such globally unused gradients None, so (as in one process) they get no
weight decay or momentum update. The price of the exact BatchNorm: two small, latency-bound all-reduces per
BatchNorm layer on the path per step (forward and backward); cheap with NCCL on one node, but with gloo on the
tiny CPU presets it roughly doubles a step (measured on 2 shared cores: 218 ms against 102 ms with per-rank BN).

`wsnas evaluate` under torchrun needs no process group: each rank scores the shard RANK/WORLD_SIZE of the sampled
archs (supernets/evaluate.py).
"""
from __future__ import annotations

import atexit
import dataclasses
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from wsnas.core.errors import WsnasError
from wsnas.supernets.runtime import Runtime


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a torchrun launch (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one rank that writes checkpoints and logs."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous 1/size slice of a global batch (size must divide its length)."""
        if self.size == 1:
            return batch
        per_rank = len(batch) // self.size
        return batch[self.rank * per_rank:(self.rank + 1) * per_rank]


def launched_world() -> World:
    """Rank, world size and local rank from torchrun's environment variables; World() when they are absent."""
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    values = {name: os.environ.get(name) for name in names}
    if values["WORLD_SIZE"] is None:
        return World()
    try:
        rank, size = int(values["RANK"] or 0), int(values["WORLD_SIZE"])
        local_rank = int(values["LOCAL_RANK"] or rank)
    except ValueError:
        raise WsnasError(f"torchrun environment {values} is not numeric; launch with torchrun, or unset "
                         f"RANK/WORLD_SIZE/LOCAL_RANK to run one process") from None
    if not 0 <= rank < size:
        raise WsnasError(f"RANK={rank} is outside WORLD_SIZE={size}; launch with torchrun, or unset RANK/WORLD_SIZE")
    return World(rank, size, local_rank)


def rank_runtime(rt: Runtime, world: World) -> Runtime:
    """The runtime of this rank: on a GPU, its own device cuda:LOCAL_RANK (unless one was named explicitly)."""
    if world.size == 1 or rt.device.type != "cuda" or rt.device.index is not None:
        return rt
    if world.local_rank >= torch.cuda.device_count():
        raise WsnasError(f"local rank {world.local_rank} has no GPU (torch sees {torch.cuda.device_count()}); "
                         f"launch at most that many processes per node (--nproc_per_node)")
    device = torch.device("cuda", world.local_rank)
    torch.cuda.set_device(device)
    return dataclasses.replace(rt, device=device)


def setup(rt: Runtime) -> tuple[World, Runtime]:
    """Under torchrun: join the process group (nccl on GPU, gloo on CPU) and pick this rank's device.

    One process: (World(), rt) and nothing else happens. The group is destroyed when the process exits.
    """
    world = launched_world()
    if world.size == 1:
        return world, rt
    rt = rank_runtime(rt, world)
    if not dist.is_initialized():
        if rt.device.type == "cuda":
            torch.cuda.set_device(rt.device)  # NCCL binds this rank to its GPU (init's device_id needs torch 2.3+)
        dist.init_process_group("nccl" if rt.device.type == "cuda" else "gloo")
        atexit.register(_destroy)
    return world, rt


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if dist.is_initialized():
        dist.barrier()


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum of `tensor` over ranks (the tensor itself without a process group)."""
    if not dist.is_initialized():
        return tensor
    total = tensor.clone()
    dist.all_reduce(total)
    return total


def distribute(model: nn.Module, rt: Runtime) -> DistributedDataParallel:
    """`model` with global-batch BatchNorm, wrapped in DDP for the shared-path training rule (module docstring).

    find_unused_parameters=True: each step runs one path, so most ops get no gradient, and which ones changes
    every step (static_graph would be wrong); DDP must mark them ready without waiting for them. Buffers are synced
    once at construction, not before every forward: GlobalBatchNorm2d updates the running statistics identically on
    every rank.
    """
    for module in model.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = GlobalBatchNorm2d  # same parameters and buffers: checkpoints are unchanged
    return DistributedDataParallel(model, device_ids=[rt.device] if rt.device.type == "cuda" else None,
                                   find_unused_parameters=True, forward_sync_buffers=False)


class _AllReduceSum(torch.autograd.Function):
    """Sum a tensor over all ranks; the gradient of each rank's input is the sum of the ranks' output gradients.

    torch's functional all_reduce carries gradients only in recent releases; this works with any torch >= 2.1."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = tensor.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that, in training under a process group, normalises with the statistics of the global batch.

    Unlike torch's SyncBatchNorm it also runs on CPU (gloo). Each rank's count, mean and biased variance are
    gathered with one differentiable all-reduce (the backward pass sums the gradients over ranks) and combined
    exactly (Chan et al.); the running statistics get the unbiased global variance, as nn.BatchNorm2d does.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized()):
            return super().forward(x)
        channels = x.shape[1]
        xf = x.float()
        var, mean = torch.var_mean(xf, dim=(0, 2, 3), correction=0)
        local = torch.cat([xf.new_full((1,), xf.numel() / channels), mean, var])
        rank = dist.get_rank()
        slots = torch.stack([local if r == rank else torch.zeros_like(local) for r in range(dist.get_world_size())])
        gathered = _AllReduceSum.apply(slots)  # row r: rank r's count, mean, variance
        counts, means, variances = gathered[:, :1], gathered[:, 1:channels + 1], gathered[:, channels + 1:]
        total = counts.sum()
        mean = (counts * means).sum(0) / total
        var = (counts * (variances + (means - mean) ** 2)).sum(0) / total
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach() * (total / (total - 1)))
        scale = torch.rsqrt(var + self.eps)
        shift = -mean * scale
        if self.affine:
            scale, shift = scale * self.weight, shift * self.weight + self.bias
        return (xf * scale[:, None, None] + shift[:, None, None]).to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased_var, alpha=factor)
