"""The search-space interface every benchmark space implements (plain Python, no torch).

A space is defined once: its canonical keys serve the supernet (which path to run), standalone training
(which network to build) and the ground-truth lookup (which row of the benchmark table).
"""
from __future__ import annotations

import os
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Hashable, Iterator, Mapping, Sequence

from wsnas.benchmarks.errors import ArchError, SpaceError

if TYPE_CHECKING:
    from wsnas.benchmarks.groundtruth import GroundTruth

__all__ = ["Arch", "ArchError", "SearchSpace", "Slot", "SpaceError"]  # the plugin API (examples/tinyconv)

Arch = Any  # a space's own decoded architecture (a tuple of choices for the built-in spaces)


@dataclass(frozen=True)
class Slot:
    """One decision of a space whose archs are a choice per slot: its name and its choices, in a fixed order."""

    name: str
    choices: tuple[Hashable, ...]


class SearchSpace(ABC):
    """A benchmark search space: parsing, canonical keys, isomorphism, enumeration and sampling.

    Optional hooks a space overrides: `features` (size and choices, for the bias and operator studies),
    `ground_truth` (its benchmark table), `extremes` (largest and smallest arch, for the sandwich sampler),
    `presets` (config values this space needs at each named preset, applied after the global preset) and
    `slots` (one choice per slot, for the search methods: `wsnas search`), with `arch_from_weights` where an arch
    is derived from the slots' weights otherwise than by each slot's heaviest choice.
    """

    name: str = ""
    description: str = ""
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    weights_rule: ClassVar[str] = "argmax of each slot's arch weights"  # how arch_from_weights derives an arch
    enumerates_truth: ClassVar[bool] = False  # enumerate() yields its ground truth's sample (read from a mirror)

    @abstractmethod
    def parse(self, text: str) -> Arch:
        """Decode an architecture string; raise ArchError naming the problem and the expected format."""

    @abstractmethod
    def format(self, arch: Arch) -> str:
        """The canonical key of an architecture: one arch, one key."""

    @abstractmethod
    def enumerate(self) -> Iterator[Arch]:
        """Every architecture of the space, in a fixed order."""

    @abstractmethod
    def size(self) -> int:
        """Number of architectures (strings) in the space."""

    def function_key(self, arch: Arch) -> Hashable:
        """Key of the function an arch computes; isomorphic archs share it. Default: no isomorphism."""
        return self.format(arch)

    def features(self, arch: Arch) -> dict[str, Any]:
        """Features of an arch for the bias studies (see wsnas.analysis.features); {} = none."""
        return {}

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> "GroundTruth":
        """The benchmark's ground-truth table (read from `mirror`, else fetched)."""
        raise SpaceError(f"search space {self.name!r} has no built-in ground truth; give your own table with "
                         f"--set analysis.truth_file=PATH (columns key, index, metrics), or train archs from "
                         f"scratch with `wsnas standalone`")

    def extremes(self) -> tuple[Arch, Arch]:
        """The largest and the smallest arch (for the sandwich sampler)."""
        raise SpaceError(f"search space {self.name!r} has no largest/smallest arch; the sandwich sampler needs "
                         f"one (choose train.sampler=uniform)")

    def slots(self) -> tuple[Slot, ...]:
        """The per-slot choice schema: an arch is one choice per slot (see arch_from_choices). The weight-sharing
        search methods size their arch parameters or controller from it."""
        raise SpaceError(f"search space {self.name!r} declares no per-slot choices (SearchSpace.slots), so the "
                         f"search methods (`wsnas search`) cannot run on it; spaces with slots: see "
                         f"`wsnas search --help`")

    def arch_from_choices(self, choices: Sequence[Hashable]) -> Arch:
        """The arch made of one choice per slot (in slots() order). Default: the tuple of choices."""
        return tuple(choices)

    def arch_from_weights(self, weights: Sequence[Mapping[Hashable, float]]) -> Arch:
        """The arch the search methods derive from a weight per choice of every slot (in slots() order; e.g.
        softmax(alpha), or a Gumbel-softmax sample), by `weights_rule`. Default: each slot's heaviest choice (the
        first of equals, in the slot's order of choices)."""
        return self.arch_from_choices([max(w, key=w.__getitem__) for w in weights])

    def choices_of(self, arch: Arch) -> tuple[Hashable, ...]:
        """The choice of each slot of an arch (the inverse of arch_from_choices). Default: the arch as a tuple."""
        return tuple(arch)

    def key(self, text: str) -> str:
        """Canonical key of an architecture string written in any accepted form."""
        return self.format(self.parse(text))

    def random_arch(self, rng: random.Random) -> Arch:
        """One architecture drawn uniformly over strings."""
        archs = self._all()
        return archs[rng.randrange(len(archs))]

    def sample(self, n: int | None, seed: int, unique_functions: bool = False) -> list[Arch]:
        """`n` distinct archs drawn with `seed` (all of them when n is None or exceeds the pool).

        With `unique_functions` one representative per function class is drawn (the class's first
        member in enumeration order), so isomorphic duplicates never appear twice.
        """
        pool = self.unique_representatives() if unique_functions else self._all()
        if n is None or n >= len(pool):
            return list(pool)
        return random.Random(seed).sample(pool, n)

    def unique_representatives(self) -> list[Arch]:
        """First member (in enumeration order) of every function class."""
        seen: dict[Hashable, Arch] = {}
        for arch in self._all():
            seen.setdefault(self.function_key(arch), arch)
        return list(seen.values())

    def function_classes(self) -> dict[Hashable, list[Arch]]:
        """All archs grouped by the function they compute."""
        classes: dict[Hashable, list[Arch]] = {}
        for arch in self._all():
            classes.setdefault(self.function_key(arch), []).append(arch)
        return classes

    def _all(self) -> Sequence[Arch]:
        cache = self.__dict__.get("_all_cache")
        if cache is None:
            cache = self.__dict__["_all_cache"] = tuple(self.enumerate())
        return cache
