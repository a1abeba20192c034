"""The config layers of a search (no torch), and how a reduced run's arch learning rate relates to the published
run's.

Config layers of `wsnas search` (last wins): the global preset, the space's preset, the method's published
settings (`paper_settings`: its record's Protocol), the reduction for the chosen preset (ALL_METHODS' entry, then
the protocol's "<preset>" and "<preset>@<space>"; its MATCHED arch learning rate only with
search.arch_step=matched), then the user's file and --set overrides.
"""
from __future__ import annotations

from typing import Any

from wsnas.benchmarks.search_methods import method_record
from wsnas.benchmarks.search_methods.record import MATCHED, Protocol, SearchMethod
from wsnas.core.config import Config, ConfigError

ARCH_STEPS = ("published", "matched")  # search.arch_step: the regime of a reduced run's arch learning rate
LEVELS = ("single", "bilevel")

# The reductions of each preset that every method takes, before its own. cpu: each method searches for about
# 250-300 CPU-seconds on one thread at the global cpu preset's size (C=8, N=1; macro at width 0.25; 10,000 training
# images), i.e. within 10 minutes on 2 cores, measured per epoch (docs/search-methods.md); arch learning rates as
# published per update (search.arch_step=published), or matched_lr (search.arch_step=matched).
ALL_METHODS: dict[str, dict[str, Any]] = {
    "smoke": {"train.epochs": 2, "search.candidates": 4, "search.controller_steps": 2,
              "search.controller_aggregate": 2, "eval.n_archs": 12},
    "cpu": {"search.candidates": 100, "eval.n_archs": 100},
}


def matched_lr(lr: float, published_updates: int, updates: int) -> float:
    """The learning rate that moves the arch parameters as far in `updates` updates as the published run's lr does
    in its `published_updates` (lr x updates kept; search.arch_step=matched). At the cpu preset a method takes
    20-200x fewer arch steps, so this multiplies the step per update by as much (GAEA's EG step 0.1 becomes 3.13,
    ENAS's controller lr 20x) and the noise of the travelled distance by its square root. Three significant
    digits."""
    return float(f"{lr * published_updates / updates:.3g}")


def check_method(method: str, gaea_base: str = "darts") -> SearchMethod:
    """The record of `method`, checked with its base; a ConfigError otherwise."""
    record = method_record(method)
    if record.bases and gaea_base not in record.bases:
        raise ConfigError(f"search.gaea_base={gaea_base!r}; choose {' or '.join(record.bases)}")
    return record


def paper_settings(method: str, space: str, gaea_base: str = "darts") -> dict[str, Any]:
    """The method's published NB201 settings as config overrides (search.method included)."""
    protocol = check_method(method, gaea_base).protocol_for(gaea_base)
    return {**protocol.settings, **protocol.per_space.get(space, {}), "search.method": method}


def method_layers(probe: Config) -> list[dict[str, Any]]:
    """The config layers of probe.search.method (see the module docstring): published settings, then the
    reduction of probe.preset (ALL_METHODS' first; their MATCHED learning rates under search.arch_step=matched)."""
    s = probe.search
    if s.arch_step not in ARCH_STEPS:
        raise ConfigError(f"search.arch_step={s.arch_step!r}; choose {' or '.join(ARCH_STEPS)}")
    settings = paper_settings(s.method, probe.space, s.gaea_base)
    record = method_record(s.method)
    protocol = record.protocol_for(s.gaea_base)
    layers = [ALL_METHODS.get(probe.preset, {}), protocol.reductions.get(probe.preset, {}),
              protocol.reductions.get(f"{probe.preset}@{probe.space}", {})]
    return [settings, *(_in_regime(layer, s.arch_step, record, protocol) for layer in layers)]


def _in_regime(layer: dict[str, Any], arch_step: str, record: SearchMethod, protocol: Protocol) -> dict[str, Any]:
    """A reduction's settings, with its MATCHED learning rate only under arch_step=matched."""
    settings = {k: v for k, v in layer.items() if k != MATCHED}
    if arch_step != MATCHED or MATCHED not in layer:
        return settings
    lr = matched_lr(protocol.settings[record.arch_lr], protocol.arch_updates, layer[MATCHED])
    return {**settings, record.arch_lr: lr}


def _value(cfg: Config, key: str) -> Any:
    """The value of a config key ('section.name')."""
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def arch_step_regime(cfg: Config, steps_per_epoch: int) -> dict[str, Any] | None:
    """How a search's arch learning rate relates to its method's published run: the regime (search.arch_step),
    the lr per update and the published one, the arch updates of this run and of the published one, and the
    share of the published lr x updates it covers. None for a method without arch updates (RSPS)."""
    s = cfg.search
    record = method_record(s.method)
    if record.arch_lr is None:
        return None
    lr_key, lr = record.arch_lr, _value(cfg, record.arch_lr)
    published = paper_settings(s.method, cfg.space, s.gaea_base)[lr_key]
    published_updates = record.protocol_for(s.gaea_base).arch_updates
    updates = record.arch_updates(cfg, steps_per_epoch)
    return {"arch_step": s.arch_step, "lr_key": lr_key, "lr": lr, "published_lr": published,
            "step_vs_published": lr / published, "updates": updates, "published_updates": published_updates,
            "travel_vs_published": lr * updates / (published * published_updates)}


def describe_regime(regime: dict[str, Any] | None) -> str:
    """One line for the run's log."""
    if regime is None:
        return "no arch updates (uniform paths)"
    r = regime
    return (f"arch step {r['arch_step']}: {r['lr_key']}={r['lr']:g} per update ({r['step_vs_published']:.3g}x the "
            f"published {r['published_lr']:g}), {r['updates']} updates against the published run's "
            f"{r['published_updates']}, lr x updates {r['travel_vs_published']:.3g}x the published")


def resolved_level(cfg: Config) -> str:
    """search.level, with auto replaced by the method's own."""
    level = method_record(cfg.search.method).level if cfg.search.level == "auto" else cfg.search.level
    if level not in LEVELS:
        raise ConfigError(f"search.level={cfg.search.level!r}; choose auto, single or bilevel")
    return level
