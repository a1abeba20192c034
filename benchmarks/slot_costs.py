"""Per-choice costs of spaces whose cost is a sum over slots (no torch): for SNAS's resource penalty.

For NAS-Bench-201 (each op on an edge adds the same parameters and FLOPs whatever the other edges hold) and
NAS-Bench-Macro (each layer's block is counted on its own) a cost feature of an arch is a constant plus one
term per slot, so the expected cost under a factorised arch distribution is exact and differentiable:
E[cost] = base + sum over slots of sum over choices p(choice) * cost(slot, choice).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Hashable

from wsnas.benchmarks.space import SearchSpace, SpaceError

CHECKED_ARCHS = 32  # random archs on which additivity is verified
TOLERANCE = 1e-9  # relative


@dataclass(frozen=True)
class SlotCosts:
    """feature(arch) = base + sum_s per_slot[s][choice_s], for the feature (e.g. "params_M") it was made for."""

    feature: str
    base: float
    per_slot: tuple[dict[Hashable, float], ...]

    def of(self, space: SearchSpace, arch) -> float:
        """The feature of `arch` from the decomposition."""
        return self.base + sum(costs[c] for costs, c in zip(self.per_slot, space.choices_of(arch)))


def slot_costs(space: SearchSpace, feature: str) -> SlotCosts:
    """The additive decomposition of `feature` (a numeric entry of space.features, e.g. params_M or flops_M),
    relative to the arch of every slot's first choice. Raises SpaceError when the space has no such feature or
    its cost is not a sum over slots (checked on CHECKED_ARCHS seeded random archs)."""
    slots = space.slots()
    base_choices = [slot.choices[0] for slot in slots]

    def cost(choices: list) -> float:
        value = space.features(space.arch_from_choices(choices)).get(feature)
        if not isinstance(value, (int, float)):
            raise SpaceError(f"search space {space.name!r} has no numeric feature {feature!r} (SearchSpace.features); "
                             f"choose search.resource among the cost features it reports, e.g. params_M or flops_M")
        return float(value)

    base = cost(base_choices)
    per_slot = []
    for s, slot in enumerate(slots):
        per_slot.append({c: cost(base_choices[:s] + [c] + base_choices[s + 1:]) - base for c in slot.choices})
    decomposition = SlotCosts(feature, base, tuple(per_slot))
    rng = random.Random(0)
    for _ in range(CHECKED_ARCHS):
        choices = [rng.choice(slot.choices) for slot in slots]
        actual, summed = cost(choices), decomposition.of(space, space.arch_from_choices(choices))
        if abs(actual - summed) > TOLERANCE * max(1.0, abs(actual)):
            raise SpaceError(f"the {feature} of {space.name!r} archs is not a sum over slots (arch "
                             f"{space.format(space.arch_from_choices(choices))}: {actual:g}, slot sum {summed:g}); "
                             f"an expected-cost penalty needs an additive cost: set search.resource_lambda=0")
    return decomposition
