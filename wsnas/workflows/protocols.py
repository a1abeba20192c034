"""Training protocols of the uniform single-path supernet: named sets of config overrides that the protocol study
(wsnas.workflows.protocol_study) trains side by side at the same budget.

A protocol changes how the supernet is trained, never what is scored: every protocol scores the same archs
(eval.*), with the same BN recalibration, against the same truth. Each keeps the budget of epochs x training
images unless its summary says otherwise; its measured CPU-seconds stand in the leaderboard beside it. A plugin
adds one with `register_protocol`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wsnas.core.errors import WsnasError


@dataclass(frozen=True)
class Protocol:
    """A training protocol: its name, the config overrides it applies, what it is and where it comes from."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    source: str = ""


_PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol) -> None:
    """Make `protocol` available to `wsnas protocol-study --protocols` under its name."""
    _PROTOCOLS[protocol.name] = protocol


def protocol(name: str) -> Protocol:
    if name not in _PROTOCOLS:
        raise WsnasError(f"unknown training protocol {name!r}; known: {', '.join(_PROTOCOLS)} (a plugin adds one "
                         f"with wsnas.workflows.protocols.register_protocol)")
    return _PROTOCOLS[name]


def protocols() -> list[Protocol]:
    return list(_PROTOCOLS.values())


for _p in (
    Protocol("default", {}, "the preset as it is (cpu: SGD at a constant learning rate 0.05, uniform paths, batch 64)",
             "wsnas's CPU default"),
    Protocol("cosine", {"train.lr_schedule": "cosine"}, "the learning rate annealed to 0 over the epochs by a "
             "cosine", "the NB201 paper's and xautodl's supernet schedule (Dong & Yang 2020)"),
    Protocol("unique", {"train.sampler": "unique"}, "paths drawn uniformly over distinct functions (isomorphic "
             "archs counted once) instead of over arch strings", "de-isomorphic sampling (Zhang et al. 2021)"),
    Protocol("batch-128", {"train.batch_size": 128, "train.lr": 0.1}, "batch 128 at twice the learning rate: the "
             "same images, half the steps", "the linear scaling rule (Goyal et al. 2017)"),
    Protocol("bn-affine", {"model.bn_affine": True}, "BatchNorm with learned scale and shift in every op",
             "the affine BN most standalone networks train with (NB201's supernets use none)"),
):
    register_protocol(_p)
