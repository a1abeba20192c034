"""The search methods' settings (no torch): what each method's published NB201 protocol uses, the CPU and smoke
reductions, which training images each part of a method reads, and the published results to compare with.

Config layers of `wsnas search` (last wins): the global preset, the space's preset, the method's published
settings (`paper_settings`), the method's reduction for the chosen preset (`REDUCTIONS`; its MATCHED arch learning
rate only with search.arch_step=matched), then the user's file and --set overrides. Sources, checked against the
code (read, not copied):
  xautodl  D-X-Y/AutoDL-Projects f46486e: configs/nas-benchmark/algos/{RANDOM,ENAS,DARTS,GDAS}.config,
           scripts-search/NAS-Bench-201-algos/*.sh, exps/NAS-Bench-201-algos/*.py,
           xautodl/models/cell_searchs/search_model_enas_utils.py (controller)
  SNAS     SNAS-Series/SNAS-Series SNAS/train_search.py and utils.py (Temp_Scheduler: linear 1.0 -> 0.03)
  GAEA     liamcli/gaea_release: README (NB201: run.epochs=25, exclude_zero=true), configs/cnn/config.yaml
           (scheduler_epochs 50), mode/search_nasbench201.yaml, search_method/{edarts,egdas}/*nasbench201.yaml,
           cnn/architect/architect_{edarts,egdas}.py
"""
from __future__ import annotations

from typing import Any

from wsnas.core.config import Config, ConfigError

METHODS: tuple[str, ...] = ("rsps", "enas", "darts-v1", "darts-v2", "gdas", "snas", "gaea")
ARCH_STEPS = ("published", "matched")  # search.arch_step: the regime of a reduced run's arch learning rate
MATCHED = "matched"  # a reduction's key for the arch learning rate that search.arch_step=matched applies
LEVELS = ("single", "bilevel")
GAEA_BASES = ("darts", "gdas")

# The level each method trains at by default (search.level=auto). Bilevel: weights on the weight split of the
# training images, arch step / controller / candidate scoring on the arch split. Single: all on all training images.
DEFAULT_LEVEL: dict[str, str] = {"rsps": "bilevel", "enas": "bilevel", "darts-v1": "bilevel", "darts-v2": "bilevel",
                                 "gdas": "bilevel", "snas": "single", "gaea": "single"}

# What each method's steps read (the held-out split, data.n_valid, is never read by a search: it measures the
# ranking afterwards, in `wsnas evaluate`).
DATA_USE: dict[str, str] = {
    "rsps": "weights: weight split (uniform paths); candidate scoring (one batch per candidate): arch split",
    "enas": "weights: weight split (controller paths); controller reward and candidate scoring: arch split",
    "darts-v1": "weights: weight split; arch step: arch split",
    "darts-v2": "weights: weight split; arch step: arch split (its unrolled step also reads the weight batch)",
    "gdas": "weights: weight split; arch step: arch split",
    "snas": "weights and arch: one joint step on all training images (single level)",
    "gaea": "ERM (single level): weights and arch on all training images, separate batches; bilevel: as DARTS",
}

_XAUTODL = {"train.optimizer": "sgd", "train.momentum": 0.9, "train.nesterov": True, "train.lr_schedule": "cosine",
            "train.grad_clip": 5.0}
_ARCH_ADAM = {"search.arch_lr": 3e-4, "search.arch_betas": [0.5, 0.999], "search.arch_weight_decay": 1e-3,
              "search.arch_eps": 1e-8}
_XAUTODL_DARTS = {**_XAUTODL, "train.batch_size": 64, "train.lr": 0.025, "train.lr_min": 0.001,
                  "train.weight_decay": 5e-4, **_ARCH_ADAM}

PAPER: dict[str, dict[str, Any]] = {
    # RANDOM.config + RANDOM-NAS.sh (--select_num 100)
    "rsps": {**_XAUTODL_DARTS, "train.epochs": 250, "search.candidates": 100},
    # ENAS.config (cosine with T_max 10 epochs over 250) + ENAS.sh + the Controller's defaults
    "enas": {**_XAUTODL, "train.epochs": 250, "train.batch_size": 128, "train.lr": 0.05, "train.lr_min": 5e-4,
             "train.lr_period": 10, "train.weight_decay": 2.5e-4,
             "search.controller_hidden": 32, "search.controller_layers": 2, "search.controller_tanh": 2.5,
             "search.controller_temperature": 5.0, "search.controller_lr": 1e-3,
             "search.controller_betas": [0.0, 0.999], "search.controller_eps": 1e-3,
             "search.controller_entropy_weight": 1e-4, "search.controller_baseline_decay": 0.99,
             "search.controller_steps": 50, "search.controller_aggregate": 20, "search.controller_grad_clip": 5.0,
             "search.candidates": 100},
    # DARTS.config + DARTS-V{1,2}.sh (--arch_learning_rate 0.0003 --arch_weight_decay 0.001); V2: r = 0.01
    "darts-v1": {**_XAUTODL_DARTS, "train.epochs": 50},
    "darts-v2": {**_XAUTODL_DARTS, "train.epochs": 50, "search.unrolled_r": 0.01},
    # GDAS.config + GDAS.sh (--tau_max 10 --tau_min 0.1)
    "gdas": {**_XAUTODL_DARTS, "train.epochs": 250, "search.tau_max": 10.0, "search.tau_min": 0.1},
    # SNAS/train_search.py defaults (plain momentum, 150 epochs, arch grad clip 10) and its linear temperature
    # schedule 1.0 -> 0.03; its multi-GPU path uses Adam(3e-4, (0.5, 0.999), wd 1e-3) for the arch parameters.
    "snas": {"train.optimizer": "sgd", "train.momentum": 0.9, "train.nesterov": False, "train.lr_schedule": "cosine",
             "train.epochs": 150, "train.batch_size": 64, "train.lr": 0.025, "train.lr_min": 0.001,
             "train.weight_decay": 3e-4, "train.grad_clip": 5.0, **_ARCH_ADAM, "search.arch_grad_clip": 10.0,
             "search.tau_max": 1.0, "search.tau_min": 0.03},
}
# GAEA's NB201 runs: 25 epochs of a cosine schedule laid out over 50 (scheduler_epochs), plain momentum, wd 3e-4
_GAEA_WEIGHTS = {"train.optimizer": "sgd", "train.momentum": 0.9, "train.nesterov": False,
                 "train.lr_schedule": "cosine", "train.batch_size": 64, "train.lr": 0.025, "train.lr_min": 0.001,
                 "train.weight_decay": 3e-4, "train.grad_clip": 5.0}
GAEA: dict[str, dict[str, Any]] = {
    # edarts on nasbench201: EG step 0.1, no entropic regulariser, clamp 1e-5, epochs 25 of 50
    "darts": {**_GAEA_WEIGHTS, "train.epochs": 25, "train.lr_period": 50, "search.arch_lr": 0.1,
              "search.arch_weight_decay": 0.0, "search.eg_clamp": 1e-5},
    # egdas on nasbench201: EG step 0.01, entropic regulariser 0.01, tau 10 -> 0.1 after 50 warm-up epochs; the
    # release names no epoch count for it, so GDAS's 250 are used
    "gdas": {**_GAEA_WEIGHTS, "train.epochs": 250, "search.arch_lr": 0.01, "search.arch_weight_decay": 0.01,
             "search.eg_clamp": 1e-5, "search.tau_max": 10.0, "search.tau_min": 0.1,
             "search.arch_warmup_epochs": 50},
}

# Arch updates of each method's published NB201 CIFAR-10 run (epochs x steps per epoch: 25k/25k split at batch 64 =
# 390 bilevel steps, 50k at 64 = 781 single-level steps; ENAS: controller updates), to say how far a reduced run's
# arch distribution can travel, and to scale its arch learning rate under search.arch_step=matched.
PUBLISHED_ARCH_STEPS: dict[str, int] = {"darts-v1": 50 * 390, "darts-v2": 50 * 390, "gdas": 250 * 390,
                                        "snas": 150 * 781, "gaea:darts": 25 * 781, "gaea:gdas": 200 * 781,
                                        "enas": 250 * 50}
BILEVEL, SINGLE = 78, 156  # cpu arch steps per epoch: 10,000 training images (5,000 + 5,000 when bilevel), batch 64


def matched_lr(key: str, lr: float, updates: int) -> float:
    """The learning rate that moves the arch parameters as far in `updates` updates as the published run's lr does
    in its PUBLISHED_ARCH_STEPS (lr x updates kept; search.arch_step=matched). At the cpu preset a method takes
    20-200x fewer arch steps, so this multiplies the step per update by as much (GAEA's EG step 0.1 becomes 3.13,
    ENAS's controller lr 20x) and the noise of the travelled distance by its square root. Three significant
    digits."""
    return float(f"{lr * PUBLISHED_ARCH_STEPS[key] / updates:.3g}")


def _cpu(key: str, epochs: int, lr_key: str, lr: float, steps_per_epoch: int, warmup: int = 0,
         **extra: Any) -> dict[str, Any]:
    """A cpu reduction: `epochs`, and under MATCHED the arch learning rate matched to (epochs - warmup) *
    steps_per_epoch updates; `extra` keys spelled with '__' for '.'."""
    updates = (epochs - warmup) * steps_per_epoch
    return {"train.epochs": epochs, MATCHED: {lr_key: matched_lr(key, lr, updates)},
            **{k.replace("__", "."): v for k, v in extra.items()}}


# The reductions of each preset, applied over the published settings ("<method>@<space>" after "<method>"). cpu:
# each method searches for about 250-300 CPU-seconds on one thread at the global cpu preset's size (C=8, N=1;
# macro at width 0.25; 10,000 training images), i.e. within 10 minutes on 2 cores, measured per epoch
# (docs/search-methods.md); arch learning rates as published per update (search.arch_step=published), or
# matched_lr (search.arch_step=matched). GAEA's cosine keeps its published shape (the run stops half way through a
# schedule twice its length).
REDUCTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {
        "*": {"train.epochs": 2, "search.candidates": 4, "search.controller_steps": 2,
              "search.controller_aggregate": 2, "eval.n_archs": 12},
        "enas": {"train.batch_size": 64, "train.lr_period": 1},
        "gaea:darts": {"train.lr_period": 4},
        "gaea:gdas": {"search.arch_warmup_epochs": 1},
    },
    "cpu": {
        "*": {"search.candidates": 100, "eval.n_archs": 100},
        "rsps": {"train.epochs": 30},
        "rsps@macro": {"train.epochs": 16},
        "enas": _cpu("enas", 30, "search.controller_lr", 1e-3, 20, train__batch_size=64,
                     search__controller_steps=20, search__controller_aggregate=5),
        "enas@macro": _cpu("enas", 16, "search.controller_lr", 1e-3, 20),
        "darts-v1": _cpu("darts-v1", 8, "search.arch_lr", 3e-4, BILEVEL),
        "darts-v1@macro": _cpu("darts-v1", 6, "search.arch_lr", 3e-4, BILEVEL),
        "darts-v2": _cpu("darts-v2", 3, "search.arch_lr", 3e-4, BILEVEL),
        "darts-v2@macro": _cpu("darts-v2", 2, "search.arch_lr", 3e-4, BILEVEL),
        "gdas": _cpu("gdas", 40, "search.arch_lr", 3e-4, BILEVEL),
        "gdas@macro": _cpu("gdas", 20, "search.arch_lr", 3e-4, BILEVEL),
        "snas": _cpu("snas", 6, "search.arch_lr", 3e-4, SINGLE),
        "snas@macro": _cpu("snas", 4, "search.arch_lr", 3e-4, SINGLE),
        "gaea:darts": _cpu("gaea:darts", 4, "search.arch_lr", 0.1, SINGLE, train__lr_period=8),
        "gaea:darts@macro": _cpu("gaea:darts", 3, "search.arch_lr", 0.1, SINGLE, train__lr_period=6),
        "gaea:gdas": _cpu("gaea:gdas", 20, "search.arch_lr", 0.01, SINGLE, warmup=4,
                          search__arch_warmup_epochs=4),
        "gaea:gdas@macro": _cpu("gaea:gdas", 12, "search.arch_lr", 0.01, SINGLE, warmup=2,
                                search__arch_warmup_epochs=2),
    },
    "paper": {},
}
# Published CIFAR-10 results (test accuracy of the derived arch, mean +- sd over search seeds) and the protocol
# each comes from.
PUBLISHED: dict[str, dict[str, Any]] = {
    "rsps": {"acc": 84.07, "sd": 3.61, "source": "NB201 (ICLR 2020) Table 5"},
    "enas": {"acc": 53.89, "sd": 0.58, "source": "NB201 (ICLR 2020) Table 5"},
    "darts-v1": {"acc": 54.30, "sd": 0.00, "source": "NB201 (ICLR 2020) Table 5"},
    "darts-v2": {"acc": 54.30, "sd": 0.00, "source": "NB201 (ICLR 2020) Table 5"},
    "gdas": {"acc": 93.61, "sd": 0.09, "source": "NB201 (ICLR 2020) Table 5"},
    "setn": {"acc": 87.64, "sd": 0.00, "source": "NB201 (ICLR 2020) Table 5"},
    "gaea": {"acc": 94.10, "sd": None, "source": "GAEA (ICLR 2021), GAEA DARTS (ERM) on NB201, searched per dataset"},
    "optimum": {"acc": 94.37, "sd": None, "source": "NB201 cifar10 test, best arch"},
}


def method_key(method: str, gaea_base: str) -> str:
    """The key of a method's settings: the method, or 'gaea:<base>'."""
    return f"gaea:{gaea_base}" if method == "gaea" else method


def paper_settings(method: str, space: str, gaea_base: str = "darts") -> dict[str, Any]:
    """The method's published NB201 settings as config overrides (search.method included)."""
    check_method(method, gaea_base)
    settings = dict(GAEA[gaea_base]) if method == "gaea" else dict(PAPER[method])
    if method == "gaea" and space == "nb201":
        settings["search.exclude"] = ["none"]  # the release's NB201 runs: search.exclude_zero=true
    return {**settings, "search.method": method}


def method_layers(probe: Config) -> list[dict[str, Any]]:
    """The config layers of probe.search.method (see the module docstring): published settings, then the
    reduction of probe.preset (its '*' entries first; their MATCHED learning rates under search.arch_step=matched)."""
    s = probe.search
    if s.arch_step not in ARCH_STEPS:
        raise ConfigError(f"search.arch_step={s.arch_step!r}; choose {' or '.join(ARCH_STEPS)}")
    key = method_key(s.method, s.gaea_base)
    reductions = REDUCTIONS.get(probe.preset, {})
    layers = [reductions.get("*", {}), reductions.get(key, {}), reductions.get(f"{key}@{probe.space}", {})]
    return [paper_settings(s.method, probe.space, s.gaea_base), *(_in_regime(layer, s.arch_step) for layer in layers)]


def _in_regime(layer: dict[str, Any], arch_step: str) -> dict[str, Any]:
    """A reduction's settings, with its MATCHED learning rate only under arch_step=matched."""
    settings = {k: v for k, v in layer.items() if k != MATCHED}
    return {**settings, **layer.get(MATCHED, {})} if arch_step == MATCHED else settings


def arch_step_regime(cfg: Config, steps_per_epoch: int) -> dict[str, Any] | None:
    """How a search's arch learning rate relates to its method's published run: the regime (search.arch_step),
    the lr per update and the published one, the arch updates of this run and of the published one, and the
    share of the published lr x updates it covers. None for RSPS (no arch updates)."""
    s = cfg.search
    if s.method == "rsps":
        return None
    key = method_key(s.method, s.gaea_base)
    lr_key = "search.controller_lr" if s.method == "enas" else "search.arch_lr"
    lr = s.controller_lr if s.method == "enas" else s.arch_lr
    published = paper_settings(s.method, cfg.space, s.gaea_base)[lr_key]
    epochs = cfg.train.epochs - (0 if s.method == "enas" else s.arch_warmup_epochs)
    updates = max(epochs, 0) * (s.controller_steps if s.method == "enas" else steps_per_epoch)
    return {"arch_step": s.arch_step, "lr_key": lr_key, "lr": lr, "published_lr": published,
            "step_vs_published": lr / published, "updates": updates, "published_updates": PUBLISHED_ARCH_STEPS[key],
            "travel_vs_published": lr * updates / (published * PUBLISHED_ARCH_STEPS[key])}


def describe_regime(regime: dict[str, Any] | None) -> str:
    """One line for the run's log."""
    if regime is None:
        return "no arch updates (uniform paths)"
    r = regime
    return (f"arch step {r['arch_step']}: {r['lr_key']}={r['lr']:g} per update ({r['step_vs_published']:.3g}x the "
            f"published {r['published_lr']:g}), {r['updates']} updates against the published run's "
            f"{r['published_updates']}, lr x updates {r['travel_vs_published']:.3g}x the published")


def check_method(method: str, gaea_base: str = "darts") -> None:
    if method not in METHODS:
        raise ConfigError(f"unknown search method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "gaea" and gaea_base not in GAEA_BASES:
        raise ConfigError(f"search.gaea_base={gaea_base!r}; choose {' or '.join(GAEA_BASES)}")


def resolved_level(cfg: Config) -> str:
    """search.level, with auto replaced by the method's own."""
    level = DEFAULT_LEVEL[cfg.search.method] if cfg.search.level == "auto" else cfg.search.level
    if level not in LEVELS:
        raise ConfigError(f"search.level={cfg.search.level!r}; choose auto, single or bilevel")
    return level
