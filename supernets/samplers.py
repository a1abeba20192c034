"""Path samplers for single-path one-shot training: uniform over arch strings or over distinct functions."""
from __future__ import annotations

import random
from typing import Any

from wsnas.benchmarks.space import SearchSpace
from wsnas.errors import WsnasError

SAMPLERS = ("uniform", "unique")


class PathSampler:
    """Draws one architecture per training step from a seeded stream.

    uniform: every arch string equally likely (isomorphic duplicates weigh as often as they occur);
    unique: every distinct function equally likely, then a uniform member of its isomorphism class.
    """

    def __init__(self, space: SearchSpace, mode: str, seed: Any) -> None:
        if mode not in SAMPLERS:
            raise WsnasError(f"unknown sampler {mode!r}; choose one of {', '.join(SAMPLERS)}")
        self.space, self.mode = space, mode
        self.rng = random.Random(str(seed))
        self.classes = list(space.function_classes().values()) if mode == "unique" else None

    def __call__(self) -> Any:
        if self.classes is None:
            return self.space.random_arch(self.rng)
        members = self.classes[self.rng.randrange(len(self.classes))]
        return members[self.rng.randrange(len(members))]
