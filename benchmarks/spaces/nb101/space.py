"""The NAS-Bench-101 space (Ying et al., ICML 2019) with NASLib's 500-row sample as ground truth (no torch).

An arch is a cell spec (wsnas.benchmarks.spaces.nb101.spec): pruned as the benchmark prunes it and relabelled to
the one representative of its isomorphism class, so every spelling of a cell gives the same arch and the
same supernet path. Its key is the benchmark's module hash, the key of NAS-Bench-101's own table.

The space holds 423,624 distinct cells (`size`), but only NASLib's sample of them has ground truth here, and
no full enumeration is needed: `enumerate` yields the sample's 292 distinct cells (the evaluation pool, in
the file's order; it reads the file from the mirror last given to `ground_truth`, else $WSNAS_DATA_MIRROR or
the download), while `random_arch`, which draws the supernet's training paths, samples the whole space as
NAS-Bench-101's random search does (spec.random_spec). So `wsnas study` trains on the whole space and
scores the sample; the `unique` training sampler, which needs the function classes, draws from the sample.
"""
from __future__ import annotations

import ast
import functools
import os
import random
from typing import Any, Iterator

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.naslib_truth import load_naslib_sample
from wsnas.benchmarks.space import ArchError, SearchSpace
from wsnas.benchmarks.spaces.nb101.cost import nb101_counts
from wsnas.benchmarks.spaces.nb101.spec import (FORMAT_HINT, OPS, SHORT, Spec, canonical, from_string, from_tuple,
                                                is_hash, module_hash, random_spec)
from wsnas.core.errors import WsnasError

TRUTH = "cifar10/valid"  # NAS-Bench-101's 108-epoch validation accuracy, as NASLib's sample records it
NUM_CELLS = 423_624  # distinct cells (module hashes) of the benchmark


@functools.lru_cache(maxsize=1 << 16)
def _hash(spec: Spec) -> str:
    return module_hash(spec)


@functools.lru_cache(maxsize=1 << 16)
def _canonical(spec: Spec) -> Spec:
    return canonical(spec)


class NB101Space(SearchSpace):
    """NAS-Bench-101's cells: at most 7 vertices and 9 edges, interior ops conv3x3, conv1x1, maxpool3x3."""

    name = "nb101"
    description = ("NAS-Bench-101: cells of <= 7 vertices, <= 9 edges, 3 ops = 423,624 CIFAR-10 networks; "
                   "ground truth: NASLib's 500-row sample (292 cells)")
    # The supernet (wsnas.supernets.models.nb101) at model.width_mult x the benchmark's widths with model.N cells
    # per stack; paper: the benchmark's own network (128-channel stem, 3 cells per stack). cpu and paper score
    # the whole sample (292 cells). cpu computes wsnas's proxies on its own small network (on the benchmark's they
    # take 2-5 s per cell on one CPU thread; the sample's NASLib proxies on the benchmark's network are baselines too).
    enumerates_truth = True  # its archs with truth are NASLib's sample, read from the mirror or downloaded
    presets = {
        "smoke": {"analysis.truth": TRUTH, "model.width_mult": 0.0625, "model.N": 1},
        "cpu": {"analysis.truth": TRUTH, "model.width_mult": 0.125, "model.N": 1, "eval.n_archs": None,
                "eval.proxy_skeleton": "run"},
        "paper": {"analysis.truth": TRUTH, "model.width_mult": 1.0, "model.N": 3, "eval.n_archs": None},
    }

    def __init__(self) -> None:
        self._by_hash: dict[str, Spec] = {}  # every arch this instance has built, by key (parse accepts keys)
        self._truth: tuple[GroundTruth, list[Spec]] | None = None

    def _remember(self, spec: Spec) -> Spec:
        arch = _canonical(spec)
        self._by_hash.setdefault(_hash(arch), arch)
        return arch

    def parse(self, text: str) -> Spec:
        """An arch from NASLib's 56-tuple, wsnas's readable form, or the module hash of an arch this process
        has seen (built, sampled or read from the ground truth)."""
        if not isinstance(text, str):
            raise ArchError(f"NAS-Bench-101 arch must be a string, got {type(text).__name__}")
        entry = text.strip()
        if is_hash(entry):
            unread = ""
            if entry not in self._by_hash and self._truth is None:
                try:
                    self._load_truth(None)
                except WsnasError as exc:
                    unread = f" (the sample could not be read: {exc})"
            if entry not in self._by_hash:
                raise ArchError(f"NAS-Bench-101 module hash {entry!r} is not a cell of the ground-truth sample or "
                                f"one built in this run{unread}; write the cell itself: {FORMAT_HINT}")
            return self._by_hash[entry]
        if entry[:1] in "([":
            try:
                values = ast.literal_eval(entry)
            except (ValueError, SyntaxError) as exc:
                raise ArchError(f"NAS-Bench-101 spec {text!r} is not a tuple of integers ({exc}); expected "
                                f"{FORMAT_HINT}") from None
            if not isinstance(values, (tuple, list)) or not all(type(v) is int for v in values):
                raise ArchError(f"NAS-Bench-101 spec {text!r} is not a tuple of integers; expected {FORMAT_HINT}")
            return self._remember(from_tuple(tuple(values), text))
        return self._remember(from_string(entry))

    def format(self, arch: Spec) -> str:
        if not isinstance(arch, Spec):
            raise ArchError(f"NAS-Bench-101 arch must be a pruned cell spec, got {arch!r}")
        return _hash(arch)

    def enumerate(self) -> Iterator[Spec]:
        """The cells of the ground-truth sample, in the file's order (see the module docstring)."""
        if self._truth is None:
            self._load_truth(None)
        assert self._truth is not None
        return iter(self._truth[1])

    def size(self) -> int:
        """The benchmark's 423,624 distinct cells (enumerate yields only the sample with ground truth)."""
        return NUM_CELLS

    def random_arch(self, rng: random.Random) -> Spec:
        """A cell drawn as NAS-Bench-101's random search draws one (uniform over raw valid 7-vertex specs, which
        favours small cells: about one draw in ten prunes to the input wired to the output, as in NASLib's
        sample, drawn the same way)."""
        return self._remember(random_spec(rng))

    def features(self, arch: Spec) -> dict[str, Any]:
        """Cost on the benchmark's network (128-channel stem, 3 stacks of 3 cells), op counts over the interior
        vertices, vertex and edge counts."""
        params, flops = nb101_counts(arch)
        features: dict[str, Any] = {"params_M": params / 1e6, "flops_M": flops / 1e6,
                                    "n_vertices": arch.n_vertices, "n_edges": arch.n_edges}
        features.update({f"n_ops:{SHORT[op]}": arch.ops.count(op) for op in OPS})
        return features

    def _load_truth(self, mirror: str | os.PathLike | None) -> GroundTruth:
        truth, archs = load_naslib_sample(self, "zc_nasbench101", "nasbench101", TRUTH, "NAS-Bench-101", mirror)
        self._truth = truth, archs
        return truth

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> GroundTruth:
        """NASLib's 500-row NAS-Bench-101 sample (292 distinct cells): validation accuracy, params, FLOPs and
        NASLib's zero-cost proxies (wsnas.benchmarks.naslib_truth)."""
        return self._load_truth(mirror)
