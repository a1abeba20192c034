"""The teacher of ranking distillation (wsnas.supernets.distill): a zero-cost proxy of wsnas.supernets.proxies
(train.distill_teacher, e.g. synflow) on the run's own network skeleton, computed for an arch the first time it
is drawn and cached for the rest of the process. (A module of its own: wsnas.supernets.proxies imports evaluation,
which imports the protocol checks of wsnas.supernets.distill.)

Each value is a function of the arch alone (ProxyComputer: a fixed initialisation seed and batch, the arch's own
seed), and it is computed under a forked RNG, so the training's random streams never depend on which values were
cached: a resumed run equals an uninterrupted one. The seconds spent computing are counted (`seconds`)."""
from __future__ import annotations

import time
from typing import Any, Sequence

import torch

from wsnas.benchmarks.registry import get_space
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.supernets.distill import Distillation
from wsnas.supernets.proxies import PROXIES, ProxyComputer, ProxySettings
from wsnas.supernets.runtime import Runtime


class ProxyTeacher:
    """train.distill_teacher's values of archs, computed once each (a teacher for wsnas.supernets.distill)."""

    def __init__(self, cfg: Config, rt: Runtime) -> None:
        self.cfg, self.rt = cfg, rt
        if cfg.train.distill_teacher not in PROXIES:
            raise WsnasError(f"train.distill_teacher={cfg.train.distill_teacher!r} is not a zero-cost proxy; choose "
                             f"one of {', '.join(PROXIES)} (e.g. synflow), or null for no distillation")
        self.settings = ProxySettings(proxies=(cfg.train.distill_teacher,), skeleton="run")
        self.computer: ProxyComputer | None = None  # built at the first value, inside the training's time
        self.values: dict[str, float] = {}
        self.seconds = 0.0

    def __call__(self, archs: Sequence[Any]) -> list[float]:
        space = get_space(self.cfg.space)
        keys = [space.format(arch) for arch in archs]
        todo = [(key, arch) for key, arch in zip(keys, archs) if key not in self.values]
        if todo:
            began = time.perf_counter()
            with torch.random.fork_rng(devices=[self.rt.device] if self.rt.device.type == "cuda" else []):
                if self.computer is None:
                    self.computer = ProxyComputer(self.cfg, self.settings)
                for key, arch in todo:
                    self.values[key] = self.computer.values(arch)[self.settings.proxies[0]]
            self.seconds += time.perf_counter() - began
        return [self.values[key] for key in keys]


def run_distillation(cfg: Config, rt: Runtime, pool: Sequence[Any] | None) -> Distillation | None:
    """The run's distillation (None when train.distill_teacher is unset); an unknown teacher is one clear error."""
    if cfg.train.distill_teacher is None:
        return None
    return Distillation(ProxyTeacher(cfg, rt), get_space(cfg.space), pool, cfg.train)
