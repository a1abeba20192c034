"""Ranking distillation from a zero-cost proxy (RD-NAS style: Dong et al., "RD-NAS: Enhancing One-shot Supernet
Ranking Ability via Ranking Distillation from Zero-cost Proxies", 2023; train.distill_teacher; the record:
wsnas.benchmarks.ranking_methods.distill; the teacher: wsnas.supernets.distill_teacher).

Every train.distill_every steps, train.distill_archs archs are drawn (uniformly over the space, or the run's arch
pool) from a stream seeded by the epoch's seed, so a resumed epoch draws the same ones. The teacher, a zero-cost
proxy (higher = better), ranks them; each arch runs on the step's batch, and for every pair the teacher orders,
the hinge max(0, margin + loss(better) - loss(worse)) asks the supernet for the teacher's order by
train.distill_margin. The mean over the pairs, times train.distill_weight, is backpropagated into the same
optimiser step as the sampled path's. No truth label is read. The forwards and the teacher's proxy computations
are training: they count in the epoch's seconds (train_log.csv's `teacher_seconds` is the proxies' share).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import torch
from torch import nn

from wsnas.benchmarks.space import SearchSpace
from wsnas.core.config import TrainConfig
from wsnas.core.errors import WsnasError
from wsnas.supernets.landmarks import ranking_hinge
from wsnas.supernets.runtime import Runtime



class Teacher(Protocol):
    """Scores archs (higher = predicted better), counting the seconds it spends."""

    seconds: float

    def __call__(self, archs: Sequence[Any]) -> list[float]: ...


def check_distill(t: TrainConfig) -> None:
    """One clear error for distillation options out of range (the teacher's name: ProxySettings, when built)."""
    if t.distill_teacher is None:
        return
    if t.distill_archs < 2:
        raise WsnasError(f"train.distill_archs={t.distill_archs}: a ranking needs at least 2 archs per "
                         f"distillation step (e.g. 4)")
    if t.distill_every < 1:
        raise WsnasError(f"train.distill_every={t.distill_every} must be 1 or more (1 = every step)")
    if t.distill_weight <= 0 or t.distill_margin < 0:
        raise WsnasError(f"train.distill_weight={t.distill_weight} must be > 0 and train.distill_margin="
                         f"{t.distill_margin} >= 0; turn distillation off with train.distill_teacher=null")


def distill_loss(losses: torch.Tensor, teacher: Sequence[float], margin: float) -> torch.Tensor:
    """The mean hinge over the pairs the teacher orders (the better arch, by a higher teacher score, should have
    the lower loss by `margin`); pairs the teacher ties, or leaves undefined (NaN), count for nothing. Zero when
    the losses already follow the teacher's order by the margin."""
    hinges = []
    for i in range(len(teacher)):
        for j in range(i + 1, len(teacher)):
            if teacher[i] > teacher[j]:
                hinges.append(ranking_hinge(losses[i], losses[j], margin))
            elif teacher[j] > teacher[i]:
                hinges.append(ranking_hinge(losses[j], losses[i], margin))
    return torch.stack(hinges).mean() if hinges else losses.sum() * 0.0


@dataclass(frozen=True)
class Distillation:
    """The teacher and the settings of a run's ranking distillation."""

    teacher: Teacher
    space: SearchSpace
    pool: Sequence[Any] | None
    t: TrainConfig

    def arch_stream(self, seed: int) -> random.Random:
        """The stream of one epoch's distilled archs."""
        return random.Random(f"distill-{seed}")

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, criterion: nn.Module, rt: Runtime,
             rng: random.Random) -> torch.Tensor:
        """Backpropagate train.distill_weight x the distillation loss of train.distill_archs drawn archs on this
        batch (gradients add to the step's); the detached loss."""
        archs = [self.pool[rng.randrange(len(self.pool))] if self.pool is not None else self.space.random_arch(rng)
                 for _ in range(self.t.distill_archs)]
        scores = self.teacher(archs)
        with rt.autocast():
            losses = torch.stack([criterion(model(x, arch), y) for arch in archs])
        loss = distill_loss(losses.float(), scores, self.t.distill_margin)
        (self.t.distill_weight * loss).backward()
        return loss.detach()
