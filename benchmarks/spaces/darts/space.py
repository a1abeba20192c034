"""The DARTS space (Liu et al., ICLR 2019) with NAS-Bench-301's surrogate predictions as ground truth (no torch).

An arch is a genotype (wsnas.benchmarks.spaces.darts.genotype), keyed by DARTS's own Genotype string. The space has
about 2.8e20 genotype strings (1.1e18 functions: a node's two pairs commute), so it is never enumerated:
`enumerate` yields the 500 genotypes of NASLib's NAS-Bench-301 sample, the evaluation pool (read from the
mirror last given to `ground_truth`, else $WSNAS_DATA_MIRROR or the download), and `random_arch`, which draws
the supernet's training paths, samples the whole space as NAS-Bench-301 does.

The ground truth is NOT a training run: its accuracy is NAS-Bench-301's surrogate model's prediction, which
is why its column is named `cifar10/valid@surrogate`; cite it as such.
"""
from __future__ import annotations

import os
import random
from typing import Any, Iterator

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.naslib_truth import load_naslib_sample
from wsnas.benchmarks.space import SearchSpace
from wsnas.benchmarks.spaces.darts.cost import nb301_params
from wsnas.benchmarks.spaces.darts.genotype import (OPS, Genotype, format_genotype, function_arch, n_genotypes,
                                                    parse_genotype, random_genotype)

TRUTH = "cifar10/valid@surrogate"  # NAS-Bench-301's surrogate-predicted CIFAR-10 validation accuracy


class DartsSpace(SearchSpace):
    """DARTS's cell space: normal and reduction cells of 4 nodes, each summing 2 of 7 ops on 2 earlier nodes."""

    name = "darts"
    description = ("DARTS space (NAS-Bench-301): normal + reduction cells, 4 nodes x 2 (input, op) pairs, 7 ops; "
                   "ground truth: NASLib's 500-genotype sample of NAS-Bench-301 SURROGATE predictions")
    presets = {preset: {"analysis.truth": TRUTH} for preset in ("smoke", "cpu", "paper")}

    def __init__(self) -> None:
        self._pool: list[Genotype] | None = None

    def parse(self, text: str) -> Genotype:
        """A genotype from DARTS's Genotype string or NASLib's compact form."""
        return parse_genotype(text)

    def format(self, arch: Genotype) -> str:
        return format_genotype(arch)

    def function_key(self, arch: Genotype) -> str:
        """The key of the genotype with each node's two pairs sorted: the order of a node's inputs is free."""
        return format_genotype(function_arch(arch))

    def enumerate(self) -> Iterator[Genotype]:
        """The 500 genotypes of the ground-truth sample, in the file's order (see the module docstring)."""
        if self._pool is None:
            self._load_truth(None)
        assert self._pool is not None
        return iter(self._pool)

    def size(self) -> int:
        """Genotype strings of the space (enumerate yields only the sample with ground truth)."""
        return n_genotypes()

    def random_arch(self, rng: random.Random) -> Genotype:
        """A genotype sampled as NAS-Bench-301 samples (genotype.random_genotype)."""
        return random_genotype(rng)

    def features(self, arch: Genotype) -> dict[str, Any]:
        """Parameters as NAS-Bench-301's sample counts them (C=32, 8 cells; cost.nb301_params) and the
        count of each op over the 16 pairs of both cells."""
        features: dict[str, Any] = {"params_M": nb301_params(arch) / 1e6}
        features.update({f"n_ops:{op}": sum(o == op for cell in arch for o, _ in cell) for op in OPS})
        return features

    def _load_truth(self, mirror: str | os.PathLike | None) -> GroundTruth:
        truth, self._pool = load_naslib_sample(self, "zc_nasbench301", "nasbench301", TRUTH,
                                               "NAS-Bench-301 (SURROGATE-predicted accuracy)", mirror)
        return truth

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> GroundTruth:
        """NASLib's 500-genotype NAS-Bench-301 sample: the surrogate's predicted validation accuracy, params,
        FLOPs and NASLib's zero-cost proxies (wsnas.benchmarks.naslib_truth)."""
        return self._load_truth(mirror)
