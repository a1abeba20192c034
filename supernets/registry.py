"""What each search space needs on the torch side: its supernet and the data it trains on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from wsnas.benchmarks.registry import get_space, space_names
from wsnas.config import Config
from wsnas.errors import WsnasError
from wsnas.supernets.nb201_model import NB201Supernet, extract_subnet

NUM_CLASSES = {"cifar10": 10}


@dataclass(frozen=True)
class SupernetSpec:
    """A space's supernet: `build(cfg)` returns a module run as `model(x, arch)`; `extract` gives a subnet."""

    build: Callable[[Config], nn.Module]
    extract: Callable[[nn.Module, Any], nn.Module]
    datasets: tuple[str, ...]


def _num_classes(cfg: Config) -> int:
    if cfg.data.dataset not in NUM_CLASSES:
        raise WsnasError(f"unknown dataset {cfg.data.dataset!r}; known: {', '.join(NUM_CLASSES)}")
    return NUM_CLASSES[cfg.data.dataset]


SUPERNETS: dict[str, SupernetSpec] = {
    "nb201": SupernetSpec(
        build=lambda cfg: NB201Supernet(cfg.model.C, cfg.model.N, _num_classes(cfg), cfg.model.bn_affine),
        extract=extract_subnet,
        datasets=("cifar10",),
    ),
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
