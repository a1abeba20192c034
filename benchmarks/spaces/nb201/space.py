"""NAS-Bench-201 as a search space: the cells of wsnas.benchmarks.spaces.nb201.cell, their cost (cost.py) and the
benchmark's ground truth (truth.py)."""
from __future__ import annotations

import itertools
import os
from typing import Any, Iterator

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.space import SearchSpace, Slot
from wsnas.benchmarks.spaces.nb201.cell import EDGES, OPS, SIZE, Arch201, format_arch, function_key, parse_arch
from wsnas.benchmarks.spaces.nb201.cost import nb201_cost
from wsnas.benchmarks.spaces.nb201.truth import load_nb201


class NB201Space(SearchSpace):
    """The 15,625-cell NAS-Bench-201 topology space."""

    name = "nb201"
    description = "NAS-Bench-201 / NATS-Bench topology space: 6 edges x 5 ops = 15,625 cells"

    def parse(self, text: str) -> Arch201:
        return parse_arch(text)

    def format(self, arch: Arch201) -> str:
        return format_arch(arch)

    def enumerate(self) -> Iterator[Arch201]:
        """All cells in lexicographic order of op ids (not the benchmark index order: that comes from
        the ground-truth table, see wsnas.benchmarks.spaces.nb201.truth)."""
        return iter(itertools.product(OPS, repeat=len(EDGES)))  # type: ignore[arg-type]

    def size(self) -> int:
        return SIZE

    def function_key(self, arch: Arch201) -> str:
        return function_key(arch)

    def slots(self) -> tuple[Slot, ...]:
        """One slot per edge, named "<to><-<from>" in the benchmark's string order, each choosing one of OPS."""
        return tuple(Slot(f"{to}<-{src}", OPS) for to, src in EDGES)

    def features(self, arch: Arch201) -> dict[str, Any]:
        """Cost at the benchmark's C=16, N=5 (whatever size the supernet was trained at) and the op on each edge,
        edges named "<to><-<from>" (e.g. "3<-1") in the benchmark's string order."""
        params, flops = nb201_cost(arch, C=16, N=5)
        features: dict[str, Any] = {"params_M": params, "flops_M": flops}
        features.update({f"n_ops:{op}": arch.count(op) for op in OPS})
        features.update({f"edge:{to}<-{src}": op for (to, src), op in zip(EDGES, arch)})
        return features

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> GroundTruth:
        return load_nb201(mirror)
