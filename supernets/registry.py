"""What each search space needs on the torch side: its supernet and the datasets it trains on.

A dataset's `prepare(data_config, device)` returns the run's (train, valid) splits as objects with the
interface of wsnas.supernets.data.DeviceImages: `len()`, `num_batches(batch_size, drop_last)` and
`batches(batch_size, shuffle=False, augment=False, generator=None, drop_last=False, channels_last=False)`
yielding `(x, y)` on the device, where the supernet is called as `model(x, arch)` and returns logits for y's rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from wsnas.benchmarks.registry import get_space, space_names
from wsnas.benchmarks.spaces.channel.space import SKELETONS
from wsnas.core.config import Config, DataConfig
from wsnas.core.errors import WsnasError
from wsnas.supernets.data import prepare_cifar10
from wsnas.supernets.graph_data import prepare_planetoid
from wsnas.supernets.models import channel, darts, graph, macro, nb101, nb201
from wsnas.supernets.runtime import Runtime


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its number of classes and how to prepare the run's (train, valid) splits on a device."""

    num_classes: int
    prepare: Callable[[DataConfig, str | torch.device], tuple[Any, Any]]
    images: bool = True  # batches are 4-d image tensors (channels_last and its autotuning apply)


@dataclass(frozen=True)
class SupernetSpec:
    """A space's supernet: `build(cfg)` returns a module run as `model(x, arch)`; `extract` gives a subnet.

    `relaxed`: the supernet also runs archs whose slot entries are mixtures or straight-through picks
    (wsnas.supernets.selection), which the gradient-based search methods (DARTS, GDAS, SNAS, GAEA) need; RSPS and
    ENAS need only discrete archs and the space's slots."""

    build: Callable[[Config], nn.Module]
    extract: Callable[[nn.Module, Any], nn.Module]
    datasets: tuple[str, ...]
    relaxed: bool = False


DATASETS: dict[str, DatasetSpec] = {"cifar10": DatasetSpec(10, prepare_cifar10),
                                     "cora": DatasetSpec(7, prepare_planetoid, images=False),
                                     "citeseer": DatasetSpec(6, prepare_planetoid, images=False)}


def register_dataset(name: str, spec: DatasetSpec) -> None:
    DATASETS[name] = spec


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise WsnasError(f"unknown dataset {name!r} (data.dataset); known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def num_classes(cfg: Config) -> int:
    return dataset_spec(cfg.data.dataset).num_classes


def prepare_data(cfg: DataConfig, device: str | torch.device) -> tuple[Any, Any]:
    """The run's (train, valid) splits of data.dataset on `device`."""
    return dataset_spec(cfg.dataset).prepare(cfg, device)


SUPERNETS: dict[str, SupernetSpec] = {
    "graph": SupernetSpec(
        build=graph.build_supernet,
        extract=graph.extract_subnet,
        datasets=("cora", "citeseer"),
    ),
    "nb201": SupernetSpec(
        build=lambda cfg: nb201.NB201Supernet(cfg.model.C, cfg.model.N, num_classes(cfg), cfg.model.bn_affine),
        extract=nb201.extract_subnet,
        datasets=("cifar10",),
        relaxed=True,
    ),
    "nb101": SupernetSpec(
        build=lambda cfg: nb101.NB101Supernet(cfg.model.width_mult, cfg.model.N, num_classes(cfg)),
        extract=nb101.extract_subnet,
        datasets=("cifar10",),
    ),
    "darts": SupernetSpec(  # model.C initial channels, model.N cells (DARTS's `layers`)
        build=lambda cfg: darts.DartsSupernet(cfg.model.C, cfg.model.N, num_classes(cfg), cfg.model.bn_affine),
        extract=darts.extract_subnet,
        datasets=("cifar10",),
        relaxed=True,
    ),
    "macro": SupernetSpec(
        build=lambda cfg: macro.MacroSupernet(cfg.model.width_mult, num_classes(cfg)),
        extract=macro.extract_subnet,
        datasets=("cifar10",),
        relaxed=True,
    ),
    **{f"channel-{name}": SupernetSpec(  # Channel-Bench-Macro: channel-mobilenet, channel-resnet
        build=lambda cfg, skeleton=skeleton: channel.ChannelSupernet(
            skeleton, cfg.model.width_mult, num_classes(cfg), cfg.model.bn_affine),
        extract=channel.extract_subnet,
        datasets=("cifar10",),
    ) for name, skeleton in SKELETONS.items()},
}


def register_supernet(space: str, spec: SupernetSpec) -> None:
    SUPERNETS[space] = spec


def supernet_spec(cfg: Config) -> SupernetSpec:
    get_space(cfg.space)  # unknown space -> one clear error listing the known ones
    if cfg.space not in SUPERNETS:
        raise WsnasError(f"space {cfg.space!r} has no supernet registered; spaces with one: {', '.join(sorted(SUPERNETS))}"
                         f" (all spaces: {', '.join(space_names())})")
    spec = SUPERNETS[cfg.space]
    if cfg.data.dataset not in spec.datasets:
        raise WsnasError(f"space {cfg.space!r} trains on {', '.join(spec.datasets)}, not {cfg.data.dataset!r}; "
                         f"set data.dataset accordingly")
    return spec


def build_model(cfg: Config, rt: Runtime) -> nn.Module:
    """The run's supernet, initialised from train.seed, placed on the runtime's device and layout."""
    torch.manual_seed(cfg.train.seed)
    model = supernet_spec(cfg).build(cfg)
    return rt.place(model)
