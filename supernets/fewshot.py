"""Few-shot NAS (Zhao et al., "Few-shot Neural Architecture Search", ICML 2021; train.fewshot_slot; the record:
wsnas.benchmarks.ranking_methods.fewshot).

The first train.fewshot_warmup epochs train the uniform one-shot supernet as usual. At the start of the next
epoch the supernet is split at slot train.fewshot_slot: one sub-supernet per choice of that slot, each a deep copy
of the one-shot weights and of their optimiser state (momentum), all held by one FewShotSupernet. It is called as
`model(x, arch)` like any supernet and runs the arch on the sub-supernet that covers it: the one whose index is
the position of the arch's choice at the slot among the slot's choices (`route`).

Budget: a few-shot epoch makes as many steps as a one-shot one, step i training sub-supernet i mod m on a path
drawn by the run's sampler among the archs whose choice at the slot is that sub-supernet's (rejection from the
sampler's stream, so the draw is uniform within the sub-space). Each sub-supernet gets 1/m of the remaining steps
(every m-th batch of each epoch) and the total of forward/backward passes equals the one-shot run's. One
optimiser holds every sub-supernet's weights; a sub-supernet off the step has no gradient, so SGD (or Adam)
leaves it and its state alone, and the learning rate follows the run's schedule over the global step.

A split checkpoint holds every sub-supernet (`model`: the FewShotSupernet's state, `fewshot`: slot and choices)
and the optimiser over all of them, so a resumed run continues exactly; `loaded_supernet` builds the module a
checkpoint's weights go into, for training and for scoring (wsnas.supernets.evaluate routes each arch with
`route_groups`).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Hashable, Sequence

import torch
from torch import nn

from wsnas.benchmarks.space import SearchSpace, SpaceError
from wsnas.core.config import TrainConfig
from wsnas.core.errors import WsnasError

FEWSHOT = "fewshot"  # the checkpoint entry of a split supernet: its slot and the slot's choices
SAMPLERS = ("uniform", "unique")  # samplers of one path per step, which a sub-space can be drawn from
MAX_DRAWS = 100_000  # draws of the run's sampler without an arch of the sub-space: the sub-space is empty


def warmup_epochs(t: TrainConfig) -> int:
    """One-shot epochs before the split: train.fewshot_warmup, or half of train.epochs when unset."""
    return t.epochs // 2 if t.fewshot_warmup is None else t.fewshot_warmup


def split_choices(space: SearchSpace, slot: int) -> tuple[Hashable, ...]:
    """The choices of `slot`, one sub-supernet each; a clear error for a space without slots or a slot past them."""
    try:
        slots = space.slots()
    except SpaceError:
        raise WsnasError(f"train.fewshot_slot splits the supernet at one slot, and space {space.name!r} declares no "
                         f"per-slot choices (SearchSpace.slots); few-shot NAS runs on spaces with slots (nb201, "
                         f"macro, darts, channel), or set train.fewshot_slot=null") from None
    if not 0 <= slot < len(slots):
        raise WsnasError(f"train.fewshot_slot={slot}, but space {space.name!r} has {len(slots)} slots; choose 0 to "
                         f"{len(slots) - 1} (e.g. 0: {slots[0].name})")
    return slots[slot].choices


def check_fewshot(t: TrainConfig, space: SearchSpace) -> None:
    """One clear error for few-shot options this run cannot train with."""
    if t.fewshot_slot is None:
        return
    split_choices(space, t.fewshot_slot)
    warmup = warmup_epochs(t)
    if not 0 <= warmup < t.epochs:
        raise WsnasError(f"train.fewshot_warmup={warmup} one-shot epochs leave none of train.epochs={t.epochs} for "
                         f"the sub-supernets; choose 0 <= train.fewshot_warmup < train.epochs")
    if t.sampler not in SAMPLERS:
        raise WsnasError(f"train.sampler={t.sampler} trains several paths per step, and a few-shot step trains one "
                         f"sub-supernet on one path; choose train.sampler=uniform or unique with train.fewshot_slot")
    if t.ema_decay or t.swa_epochs:
        raise WsnasError("train.fewshot_slot does not combine with weight averaging (train.ema_decay, "
                         "train.swa_epochs): set one of them, not both")


class FewShotSupernet(nn.Module):
    """The sub-supernets of a split, copies of one supernet module, each covering the archs of one choice of the
    split slot; `model(x, arch)` runs `arch` on its own sub-supernet."""

    def __init__(self, supernets: Sequence[nn.Module], space: SearchSpace, slot: int) -> None:
        super().__init__()
        self.subnets = nn.ModuleList(supernets)
        self.space, self.slot = space, slot
        self.choices = split_choices(space, slot)

    def route(self, arch: Any) -> int:
        """The index of the sub-supernet that covers `arch`: its choice's position among the slot's choices."""
        return self.choices.index(self.space.choices_of(arch)[self.slot])

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        return self.subnets[self.route(arch)](x, arch)


def split_supernet(model: nn.Module, space: SearchSpace, slot: int) -> FewShotSupernet:
    """One deep copy of `model` (weights and BN statistics) per choice of `slot` (the warm start)."""
    return FewShotSupernet([copy.deepcopy(model) for _ in split_choices(space, slot)], space, slot)


def loaded_supernet(model: nn.Module, state: dict[str, Any], space: SearchSpace, key: str = "model") -> nn.Module:
    """The module checkpoint `state`'s weights (state[key]) are loaded into: `model` itself, or, for a split
    few-shot checkpoint, a FewShotSupernet of copies of `model`."""
    target = split_supernet(model, space, state[FEWSHOT]["slot"]) if FEWSHOT in state else model
    target.load_state_dict(state[key])
    return target


def fewshot_entry(model: nn.Module) -> dict[str, Any]:
    """The checkpoint entry of a split supernet ({FEWSHOT: its slot and choices}); {} for any other supernet."""
    if not isinstance(model, FewShotSupernet):
        return {}
    return {FEWSHOT: {"slot": model.slot, "choices": [str(c) for c in model.choices]}}


def route_groups(model: nn.Module, archs: Sequence[Any]) -> list[tuple[nn.Module, list[int]]]:
    """(module, indices of `archs` it scores): each sub-supernet of a FewShotSupernet with the archs it covers,
    in sub-supernet order; any other supernet with all of them."""
    if not isinstance(model, FewShotSupernet):
        return [(model, list(range(len(archs))))]
    groups: dict[int, list[int]] = {}
    for i, arch in enumerate(archs):
        groups.setdefault(model.route(arch), []).append(i)
    return [(model.subnets[k], groups[k]) for k in sorted(groups)]


class SubSpaceSampler:
    """Step i draws one path for sub-supernet i mod m: the next arch of the run's sampler whose choice at the split
    slot is that sub-supernet's (the others are skipped)."""

    def __init__(self, model: FewShotSupernet, sampler: Callable[[], Any]) -> None:
        self.model, self.sampler, self.steps = model, sampler, 0

    def step(self) -> list[Any]:
        target = self.steps % len(self.model.subnets)
        self.steps += 1
        for _ in range(MAX_DRAWS):
            arch = self.sampler()
            if self.model.route(arch) == target:
                return [arch]
        raise WsnasError(f"no arch with choice {self.model.choices[target]!r} at train.fewshot_slot="
                         f"{self.model.slot} in {MAX_DRAWS} draws of the sampler: the run's train.arch_pool has "
                         f"none; add such archs to the pool or split another slot")


def fewshot_sampler(model: nn.Module, sampler: Any) -> Any:
    """The sampler a training epoch draws from: `sampler` itself, or for a split supernet its sub-space sampler."""
    return SubSpaceSampler(model, sampler) if isinstance(model, FewShotSupernet) else sampler


def replicated_optimizer_state(state: dict[str, Any], copies: int) -> dict[str, Any]:
    """An optimiser state_dict over `copies` copies of the parameters of `state`'s (one parameter group, as
    wsnas.supernets.train.make_optimizer makes), each copy with its own clone of the per-parameter state."""
    group, = state["param_groups"]
    n = len(group["params"])
    position = {pid: i for i, pid in enumerate(group["params"])}
    per_param = {k * n + position[pid]: {name: value.clone() if torch.is_tensor(value) else copy.deepcopy(value)
                                         for name, value in entry.items()}
                 for k in range(copies) for pid, entry in state["state"].items()}
    return {"state": per_param, "param_groups": [{**group, "params": list(range(copies * n))}]}


def split_training(model: nn.Module, opt: torch.optim.Optimizer, sched: Any, space: SearchSpace, slot: int,
                   make_optimizer: Callable[[nn.Module], tuple[torch.optim.Optimizer, Any]]):
    """Split a trained one-shot supernet (the warm start): the FewShotSupernet, and an optimiser and schedule over
    all its sub-supernets that carry on from `opt` and `sched` (each copy with the one-shot momentum)."""
    fewshot = split_supernet(model, space, slot)
    new_opt, new_sched = make_optimizer(fewshot)
    new_opt.load_state_dict(replicated_optimizer_state(opt.state_dict(), len(fewshot.subnets)))
    new_sched.load_state_dict(sched.state_dict())
    return fewshot, new_opt, new_sched
