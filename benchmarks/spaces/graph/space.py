"""NAS-Bench-Graph as a search space: the canonical archs of wsnas.benchmarks.spaces.graph.arch (see there for the
format and the benchmark's isomorphism rule), their cost, and the ground truth the nas-bench-graph package ships
(truth.py)."""
from __future__ import annotations

import itertools
import os
from typing import Any, Iterator

from nas_bench_graph.architecture import Arch as BenchArch
from nas_bench_graph.architecture import link_list

from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.benchmarks.space import SearchSpace
from wsnas.benchmarks.spaces.graph.arch import CORA, NUM_NODES, OPS, GraphArch, format_arch, graph_cost, parse_arch
from wsnas.benchmarks.spaces.graph.truth import load_graph_truth


class GraphSpace(SearchSpace):
    """The 26,206 canonical NAS-Bench-Graph archs."""

    name = "graph"
    description = "NAS-Bench-Graph: 4 GNN nodes, 9 link patterns x 9 ops = 26,206 distinct archs (cora, citeseer)"
    # "paper" is the benchmark's own training of each arch: full-batch SGD (no momentum, no clipping), lr 0.1,
    # weight decay 5e-4, dropout 0.7 (fixed in the model), hidden width 256, 400 epochs (Cora; CiteSeer used lr 0.2).
    # One supernet step = one epoch over the 140 (Cora) / 120 (CiteSeer) training nodes; the ranking is scored on
    # the public split's 500 validation nodes. Single-path SGD barely moves a supernet in that many steps (each op
    # is trained in a fraction of them), so "cpu" and "smoke" train with Adam, as GNN weight-sharing NAS does, at
    # a quarter of the width, on one thread (torch_geometric's scatter kernels lose time to a second one under load).
    presets = {
        "smoke": {"data.dataset": "cora", "data.n_train": None, "data.n_valid": 500, "model.width_mult": 0.125,
                  "model.bn_affine": True, "train.optimizer": "adam", "train.lr": 0.01, "train.grad_clip": 0.0,
                  "runtime.threads": 1},
        "cpu": {"data.dataset": "cora", "data.n_train": None, "data.n_valid": 500, "model.width_mult": 0.25,
                "model.bn_affine": True, "train.epochs": 300, "train.optimizer": "adam", "train.lr": 0.01,
                "train.grad_clip": 0.0, "train.checkpoint_every": 100, "eval.n_archs": 100, "eval.calib_batches": 1,
                "runtime.threads": 1},
        "paper": {"data.dataset": "cora", "data.n_train": None, "data.n_valid": 500, "model.width_mult": 1.0,
                  "model.bn_affine": True, "train.epochs": 400, "train.optimizer": "sgd", "train.lr": 0.1,
                  "train.lr_schedule": "constant", "train.momentum": 0.0, "train.weight_decay": 5e-4,
                  "train.grad_clip": 0.0, "train.checkpoint_every": 100, "eval.n_archs": 1000,
                  "eval.calib_batches": 1},
    }

    def parse(self, text: str) -> GraphArch:
        return parse_arch(text)

    def format(self, arch: GraphArch) -> str:
        return format_arch(arch)

    def enumerate(self) -> Iterator[GraphArch]:
        """The canonical archs (those the benchmark's isomorphism rule leaves unchanged), in hash order."""
        for link, ops in itertools.product(link_list, itertools.product(OPS, repeat=NUM_NODES)):
            if set(ops) != {"skip"} and BenchArch(list(link), list(ops)).check_isomorph():
                yield tuple(zip(link, ops))

    def size(self) -> int:
        return len(self._all())

    def features(self, arch: GraphArch) -> dict[str, Any]:
        """Cost on the benchmark's Cora skeleton (1,433 features, 7 classes, 2,708 nodes, hidden width 256,
        whatever width the supernet was trained at), op counts, and the op at each node ("1".."4")."""
        params, flops = graph_cost(arch, CORA["features"], CORA["classes"], CORA["nodes"])
        features: dict[str, Any] = {"params_M": params / 1e6, "flops_M": flops / 1e6}
        features.update({f"n_ops:{op}": sum(o == op for _, o in arch) for op in OPS})
        features.update({f"edge:{node}": op for node, (_, op) in enumerate(arch, start=1)})
        return features

    def extremes(self) -> tuple[GraphArch, GraphArch]:
        """The archs with the most and the fewest parameters on the Cora skeleton (first in hash order on ties)."""
        def size(arch: GraphArch) -> int:
            return graph_cost(arch, CORA["features"], CORA["classes"], CORA["nodes"])[0]

        archs = self._all()
        return max(archs, key=size), min(archs, key=size)

    def ground_truth(self, mirror: str | os.PathLike | None = None) -> GroundTruth:
        """Cora and CiteSeer accuracies from the nas-bench-graph package's tables (`mirror` is not needed)."""
        return load_graph_truth(self)
