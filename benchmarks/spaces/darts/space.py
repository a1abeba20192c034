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
from typing import Any, Hashable, Iterator, Sequence

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.naslib_truth import load_naslib_sample
from wsnas.benchmarks.space import SearchSpace, Slot
from wsnas.benchmarks.spaces.darts.cost import nb301_params
from wsnas.benchmarks.spaces.darts.genotype import (OPS, Genotype, format_genotype, function_arch, n_genotypes,
                                                    parse_genotype, random_genotype)
from wsnas.benchmarks.spaces.darts.slots import (RULE, Weights, choices_of_genotype, darts_slots, derive_genotype,
                                                 genotype_from_choices)

TRUTH = "cifar10/valid@surrogate"  # NAS-Bench-301's surrogate-predicted CIFAR-10 validation accuracy


class DartsSpace(SearchSpace):
    """DARTS's cell space: normal and reduction cells of 4 nodes, each summing 2 of 7 ops on 2 earlier nodes."""

    name = "darts"
    description = ("DARTS space (NAS-Bench-301): normal + reduction cells, 4 nodes x 2 (input, op) pairs, 7 ops; "
                   "ground truth: NASLib's 500-genotype sample of NAS-Bench-301 SURROGATE predictions")
    # The supernet (wsnas.supernets.models.darts) with model.C initial channels and model.N cells (normal, then
    # reductions at N//3 and 2N//3). smoke: seconds. cpu: the smallest skeleton with a normal cell (C=4, 3 cells),
    # 4 epochs, 100 archs, the proxies on the run's network (on DARTS's C=16 network they take 2.5 s an arch), in
    # fp32 (torch 2.13's CPU bf16 backward of the dilated depthwise 5x5 conv gave non-finite weight gradients), so
    # that `wsnas study --space darts` takes about 8 minutes on 2 cores (one thread: 33 s an epoch, 0.9 s a
    # subnet, 0.2 s an arch's proxies; about 700 s in all, extrapolated). paper: DARTS's search network and
    # schedule (C=16, 8 cells, batch 64, 50 epochs, cosine lr 0.025 -> 0.001, momentum 0.9 without Nesterov,
    # weight decay 3e-4), scoring the whole sample (500 genotypes).
    enumerates_truth = True  # its archs with truth are NASLib's sample, read from the mirror or downloaded
    presets = {
        "smoke": {"analysis.truth": TRUTH, "model.C": 4, "model.N": 3},
        "cpu": {"analysis.truth": TRUTH, "model.C": 4, "model.N": 3, "train.epochs": 4, "eval.n_archs": 100,
                "eval.proxy_skeleton": "run", "runtime.amp": "off"},
        "paper": {"analysis.truth": TRUTH, "model.C": 16, "model.N": 8, "train.batch_size": 64, "train.epochs": 50,
                  "train.lr": 0.025, "train.lr_min": 0.001, "train.lr_schedule": "cosine", "train.nesterov": False,
                  "train.weight_decay": 3e-4, "eval.n_archs": None},
    }
    weights_rule = RULE

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

    def slots(self) -> tuple[Slot, ...]:
        """DARTS's relaxation: the 14 (node, input) edges of each cell type over 'none' and the 7 ops
        (wsnas.benchmarks.spaces.darts.slots)."""
        return darts_slots()

    def arch_from_choices(self, choices: Sequence[Hashable]) -> Genotype:
        """The genotype DARTS's rule derives from one-hot weights on the choices (slots.genotype_from_choices)."""
        return genotype_from_choices(choices)

    def choices_of(self, arch: Genotype) -> tuple[Hashable, ...]:
        """The genotype's op on each of its edges, 'none' on the others."""
        return choices_of_genotype(arch)

    def arch_from_weights(self, weights: Weights) -> Genotype:
        """DARTS's derivation (slots.derive_genotype): per node the two edges of strongest non-none op."""
        return derive_genotype(weights)

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
