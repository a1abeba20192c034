"""Planetoid Cora and CiteSeer for the NAS-Bench-Graph supernet: the benchmark's public split, full-batch.

The raw ind.<dataset>.* files come from the pinned sources (a local mirror, else kimiyoung/planetoid), are copied
into cache_dir()/planetoid/<Name>/raw/ and read with torch_geometric's Planetoid (split "public", no feature
normalisation, as NAS-Bench-Graph loaded them): Cora 140 train / 500 valid / 1000 test nodes, CiteSeer 120 / 500
/ 1000. The graph itself (features, edges) lives in the model (wsnas.supernets.models.graph); a split here is a
set of node ids with the interface of DeviceImages whose one batch is the whole split.
"""
from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from wsnas.core.atomic import atomic_path
from wsnas.benchmarks.all_sources import SOURCES
from wsnas.benchmarks.sources import file_sha256, resolve
from wsnas.benchmarks.spaces.graph.datasets import PLANETOID_FILES
from wsnas.core.config import DataConfig
from wsnas.core.errors import WsnasError
from wsnas.core.paths import cache_dir, mirror_dir

PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer"}


@dataclass(frozen=True)
class Graph:
    """One citation graph on the CPU: dense node features, directed edge list, labels and the split's node ids."""

    x: torch.Tensor
    edge_index: torch.Tensor
    y: torch.Tensor
    nodes: dict[str, torch.Tensor]  # split -> node ids
    num_classes: int


class NodeSplit:
    """The node ids of one split and their labels on a device; a pass is one full batch (the benchmark trains
    full-batch), so batch size, shuffling, augmentation and channels_last do not apply."""

    def __init__(self, nodes: torch.Tensor, labels: torch.Tensor, device: str | torch.device) -> None:
        self.nodes = nodes.to(device)
        self.labels = labels.to(device)

    def __len__(self) -> int:
        return len(self.nodes)

    def num_batches(self, batch_size: int, drop_last: bool) -> int:
        return 1

    def batches(self, batch_size: int, shuffle: bool = False, augment: bool = False,
                generator: torch.Generator | None = None, drop_last: bool = False,
                channels_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One batch: (node ids, labels)."""
        yield self.nodes, self.labels


def _raw_dir(dataset: str, mirror: str | os.PathLike | None) -> str:
    """cache_dir()/planetoid, its <Name>/raw/ holding verified copies of the dataset's raw files."""
    root = cache_dir() / "planetoid"
    raw = root / PLANETOID_NAMES[dataset] / "raw"
    for part, sha256, _ in PLANETOID_FILES[dataset]:
        source = resolve(SOURCES[f"planetoid_{dataset}_{part}"], mirror)
        target = raw / f"ind.{dataset}.{part}"
        if not target.is_file() or file_sha256(target) != sha256:
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
    return str(root)


@functools.lru_cache(maxsize=4)
def _load(dataset: str, mirror: str | None, cache: str) -> Graph:
    from torch_geometric.datasets import Planetoid  # torch_geometric takes seconds to import: only when needed

    data = Planetoid(_raw_dir(dataset, mirror), PLANETOID_NAMES[dataset], split="public")[0]
    masks = {"train": data.train_mask, "valid": data.val_mask, "test": data.test_mask}
    return Graph(data.x, data.edge_index, data.y, {split: mask.nonzero().flatten() for split, mask in masks.items()},
                 int(data.y.max()) + 1)


def load_graph(dataset: str, mirror: str | os.PathLike | None = None) -> Graph:
    """Cora or CiteSeer from the mirror (argument, else $WSNAS_DATA_MIRROR) or the pinned download."""
    if dataset not in PLANETOID_NAMES:
        raise WsnasError(f"unknown graph dataset {dataset!r}; known: {', '.join(PLANETOID_NAMES)}")
    root = mirror_dir(mirror)
    return _load(dataset, str(root) if root else None, str(cache_dir()))


def prepare_planetoid(cfg: DataConfig, device: str | torch.device) -> tuple[NodeSplit, NodeSplit]:
    """The (train, valid) node splits of data.dataset on `device`, as the benchmark split them."""
    if cfg.root:
        raise WsnasError(f"data.root={cfg.root!r} (--data) names CIFAR-10 images; {cfg.dataset} comes from "
                         f"--data-mirror / $WSNAS_DATA_MIRROR or is downloaded: unset data.root")
    graph = load_graph(cfg.dataset, cfg.mirror)
    train, valid = (NodeSplit(graph.nodes[s], graph.y[graph.nodes[s]], device) for s in ("train", "valid"))
    if cfg.n_train not in (None, len(train)) or cfg.n_valid != len(valid):
        raise WsnasError(f"data.n_train={cfg.n_train}, data.n_valid={cfg.n_valid}: {cfg.dataset} uses the "
                         f"benchmark's fixed public split ({len(train)} train / {len(valid)} valid nodes); set "
                         f"data.n_train=null and data.n_valid={len(valid)} (the graph space's presets do)")
    return train, valid
