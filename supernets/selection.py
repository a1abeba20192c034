"""What a supernet runs in one slot: a discrete choice, a weighted mixture of choices, or a hard pick whose weight
carries a straight-through gradient.

`model(x, arch)` takes an arch as a tuple of slot entries. Today's entries are plain choices (a str op name, a
width digit, ...): the supernet runs exactly one path, unchanged. The search methods widen an entry to

    Mix(choices, weights)    DARTS, SNAS, GAEA: sum over choices of weights[k] * choice_k(x)
    Pick(choice, weight)     GDAS (hard Gumbel, straight-through): weight * choice(x), weight == 1 in value

so one supernet module serves every method, and the arch parameters that make the weights live outside it
(wsnas.supernets.search): the weight optimiser never sees them. A supernet that supports Mix and Pick entries says
so in its SupernetSpec (`relaxed=True`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import torch


@dataclass(frozen=True, eq=False)
class Mix:
    """A weighted mixture of a slot's choices: weights[k] scales choices[k]'s output (1-D tensor, len(choices))."""

    choices: tuple[Hashable, ...]
    weights: torch.Tensor


@dataclass(frozen=True, eq=False)
class Pick:
    """One choice run alone, its output scaled by `weight` (a 0-d tensor: 1 in value, gradient straight through)."""

    choice: Hashable
    weight: torch.Tensor


RELAXED = (Mix, Pick)


def is_discrete(arch: Sequence[Any]) -> bool:
    """True when no entry of `arch` is a Mix or a Pick: the supernet's single-path code runs it as before."""
    return not any(isinstance(entry, RELAXED) for entry in arch)


def picked(arch: Sequence[Any]) -> tuple[Hashable, ...] | None:
    """The discrete arch of an arch made of Picks and plain choices (None when it holds a Mix)."""
    if any(isinstance(entry, Mix) for entry in arch):
        return None
    return tuple(entry.choice if isinstance(entry, Pick) else entry for entry in arch)


def scale(entry: Any) -> torch.Tensor | None:
    """The straight-through weight of a Pick entry (None for a plain choice)."""
    return entry.weight if isinstance(entry, Pick) else None


def run_entry(entry: Any, run: Callable[[Hashable], torch.Tensor | None]) -> torch.Tensor | None:
    """The output of one slot entry, given `run(choice)` (a choice's output, or None for a choice that outputs zero).

    A plain choice runs alone; a Pick runs its choice and scales it; a Mix sums every non-zero choice's output
    scaled by its weight. None means the slot contributes zero."""
    if isinstance(entry, Mix):
        total = None
        for choice, weight in zip(entry.choices, entry.weights):
            out = run(choice)
            if out is not None:
                total = out * weight if total is None else total + out * weight
        return total
    if isinstance(entry, Pick):
        out = run(entry.choice)
        return None if out is None else out * entry.weight
    return run(entry)
