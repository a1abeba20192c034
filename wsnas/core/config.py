"""Run configuration: nested dataclasses, named presets, YAML/TOML files and `section.key=value` overrides.

Precedence (last wins): the preset, then a config file, then `--set` overrides and named CLI flags. The fully
resolved config is saved in every run directory; a resumed run must match it.
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from wsnas.core.errors import WsnasError
from wsnas.core.plugins import load_plugins, normalise


class ConfigError(WsnasError, ValueError):
    """A config file, preset or override that cannot be applied."""


@dataclass
class DataConfig:
    dataset: str = "cifar10"
    root: str | None = None          # a CIFAR-10 python archive / batches dir / ImageFolder tree
    mirror: str | None = None        # local mirror of upstream files (else $WSNAS_DATA_MIRROR)
    n_train: int | None = 10_000     # supernet-train images (None = all not held out)
    n_valid: int = 1_000             # held-out validation images the ranking is measured on
    split_seed: int = 0


@dataclass
class ModelConfig:
    C: int = 8                       # channels of the first stage (benchmark: 16)
    N: int = 1                       # cells per stage (benchmark: 5)
    bn_affine: bool = False          # affine BN in cell ops (the reduction blocks are always affine)
    width_mult: float = 1.0          # channel multiplier of spaces whose skeleton fixes the widths (macro, channel)


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"           # sgd (momentum; nesterov when train.nesterov and momentum > 0) | adam
    lr_schedule: str = "constant"    # constant, cosine (annealed to lr_min over train.epochs; the paper preset), or
                                     # cosine_restarts (SGDR: cosine cycles of lr_restart_period x lr_restart_mult^i)
    lr_min: float = 0.0              # the floor of the cosine schedules (xautodl's eta_min)
    lr_period: int | None = None     # epochs from lr to lr_min (cosine continues past it); None = train.epochs
    lr_restart_period: int = 10      # cosine_restarts: epochs of the first cycle (SGDR's T_0)
    lr_restart_mult: int = 2         # cosine_restarts: each cycle this many times longer than the last (SGDR's T_mult)
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    sampler: str = "uniform"         # uniform over arch strings, "unique" over distinct functions, "sandwich"
                                     # (largest + smallest + a uniform path each step, gradients summed), or
                                     # "strict_fair" (FairNAS: m paths covering every op of every slot, one update)
    ema_decay: float = 0.0           # scored weights: an EMA of the weights, updated every step (0 = off)
    swa_epochs: int = 0              # scored weights: the mean of the weights after each of the last K epochs (0 = off)
    landmarks: int = 0               # landmark regularisation: K truth-labelled archs, never scored (0 = off)
    landmark_weight: float = 1.0     # the coefficient of the landmark ranking loss
    landmark_every: int = 1          # training steps between landmark steps
    landmark_pairs: int = 1          # landmark pairs ranked at each landmark step
    landmark_margin: float = 0.05    # the hinge's margin on the pair's loss difference
    landmark_seed: int = 0           # draws the K landmarks from the ground truth's archs
    fewshot_slot: int | None = None  # few-shot NAS: split the supernet at this slot, one copy per op (None = off)
    fewshot_warmup: int | None = None  # few-shot NAS: one-shot epochs before the split (None = half of train.epochs)
    distill_teacher: str | None = None  # ranking distillation: the zero-cost proxy that teaches (None = off)
    distill_weight: float = 1.0      # the coefficient of the distillation ranking loss
    distill_every: int = 1           # training steps between distillation steps
    distill_archs: int = 4           # archs ranked by the teacher at each distillation step
    distill_margin: float = 0.05     # the hinge's margin on a pair's loss difference
    seed: int = 0
    checkpoint_every: int = 1        # epochs between kept checkpoints (the last one is always kept)
    arch_pool: str | None = None     # file of arch keys (one per line) to sample paths from; None = the whole space


@dataclass
class EvalConfig:
    n_archs: int | None = 250        # distinct archs to score (None = the whole space)
    sample: str = "uniform"          # uniform over strings, or "unique" (one per function)
    seed: int = 0
    bn_policy: str = "recalibrate"   # recalibrate | inherit | batch
    calib_batches: int = 4           # recalibration batches of training images per subnet
    calib_seed: int | None = None    # which training images calibrate (None = eval.seed)
    batch_size: int = 500
    epochs: list[int] = field(default_factory=list)  # checkpoints to score; empty = the last one
    ensemble_epochs: list[int] = field(default_factory=list)  # `analyze`: also score archs by their mean rank
                                                              # over these checkpoints (each scored once)
    finetune_batches: int = 0        # SGD steps on each subnet's inherited weights before scoring (restored after)
    finetune_lr: float = 0.01        # learning rate of that fine-tuning
    proxies: list[str] = field(default_factory=lambda: ["synflow", "naswot"])  # zero-cost proxies `study` computes
    proxy_skeleton: str = "benchmark"  # the network they run on: benchmark (the space's own) or run (model.*)


@dataclass
class AnalysisConfig:
    truth: str | None = None         # ground-truth column (dataset/split); None = "<data.dataset>/test"
    truth_file: str | None = None    # your own ground-truth CSV (key, index, metrics) instead of the benchmark's
    n_boot: int = 1000
    seed: int = 0
    topk: list[float] = field(default_factory=lambda: [1, 10, 0.01, 0.1])


@dataclass
class SearchConfig:
    """The weight-sharing search methods (`wsnas search`); each method's published settings are applied as a
    preset layer (wsnas.benchmarks.search_methods), so these defaults matter only where a method sets nothing."""

    method: str = "rsps"             # rsps | enas | darts-v1 | darts-v2 | gdas | snas | gaea
    level: str = "auto"              # bilevel: weights on the weight split, arch step on the arch split of the
                                     # training images; single: both on all of them; auto: the method's own
    arch_split: float = 0.5          # share of the training images (data.n_train) in the arch split (bilevel)
    arch_lr: float = 3e-4            # Adam learning rate of the arch parameters (GAEA: exponentiated-gradient step)
    arch_step: str = "published"     # a reduced preset's arch (and ENAS controller) lr: published (the method's own
                                     # per update) or matched (lr x updates of the published run: larger, noisier)
    arch_betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    arch_eps: float = 1e-8
    arch_weight_decay: float = 1e-3  # Adam weight decay (GAEA: weight of the entropic regulariser)
    arch_grad_clip: float = 0.0      # clip the arch gradient's norm (0 = no clipping)
    arch_warmup_epochs: int = 0      # epochs of weight training before the first arch step
    tau_max: float = 10.0            # Gumbel-softmax temperature, linear from tau_max (first epoch) to tau_min (last)
    tau_min: float = 0.1
    unrolled_r: float = 0.01         # DARTS-V2: finite-difference step r / ||dL/dw'|| of the Hessian-vector product
    gaea_base: str = "darts"         # GAEA on a darts (softmax-free mixture on the simplex) or gdas (hard Gumbel) base
    eg_clamp: float = 1e-5           # GAEA: floor of an arch weight before renormalising each slot
    controller_hidden: int = 32      # ENAS: LSTM units and layers, logit tanh constant and temperature
    controller_layers: int = 2
    controller_tanh: float = 2.5
    controller_temperature: float = 5.0
    controller_lr: float = 1e-3      # ENAS controller's Adam
    controller_betas: list[float] = field(default_factory=lambda: [0.0, 0.999])
    controller_eps: float = 1e-3
    controller_entropy_weight: float = 1e-4
    controller_baseline_decay: float = 0.99
    controller_steps: int = 50       # controller updates per epoch, each averaging controller_aggregate samples
    controller_aggregate: int = 20
    controller_grad_clip: float = 5.0
    candidates: int = 100            # RSPS, ENAS: archs scored (one arch batch each) to pick the derived arch
    rank_batches: int = 4            # RSPS: arch batches its own ranking scores every arch on (the same for all)
    score_bn: str = "batch"          # BN of those one-batch scores and ENAS's rewards: batch (the batch's statistics,
                                     # xautodl BN=0 / NATS-Bench) or inherit (the running statistics, BN=1)
    resource_lambda: float = 0.0     # SNAS: weight of the expected-cost penalty lambda * E[cost]
    resource: str = "params_M"       # the cost feature of the penalty (params_M or flops_M)
    exclude: list[str] = field(default_factory=list)  # choices left out of the arch distribution (e.g. [none])


@dataclass
class RuntimeConfig:
    device: str = "auto"             # auto | cpu | cuda[:i]
    threads: int | None = None       # torch CPU threads (None = torch default)
    amp: str = "auto"                # auto (bf16 on GPU; on CPU autotuned) | off | bf16
    channels_last: str = "auto"      # layout: auto (on GPU; on CPU autotuned) | on | off | wide (convs of >= 16 channels)
    autotune: bool = True            # on CPU, time `auto` amp/layout and keep the fastest (else fp32, NCHW)
    progress: bool = True
    replicate_jobs: int = 1          # `wsnas study` on CPU: members trained side by side, each in its own process
                                     # with runtime.threads = cores / jobs (1 = one after the other)


@dataclass
class Config:
    space: str = "nb201"
    preset: str = "cpu"
    replicates: int = 3              # supernets `wsnas study` trains, differing only in train.seed (seed, seed+1, ...)
    plugins: list[str] = field(default_factory=list)  # modules or .py files that register spaces (wsnas.core.plugins)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Each preset lists what it changes from the dataclass defaults (which are the CPU default, "cpu").
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "replicates": 1, "data.n_train": 512, "data.n_valid": 256, "model.C": 4, "model.N": 1,
        "train.epochs": 2, "train.batch_size": 64, "eval.n_archs": 12, "eval.calib_batches": 1,
        "eval.batch_size": 128, "eval.proxy_skeleton": "run", "analysis.n_boot": 100, "runtime.progress": False,
        "runtime.autotune": False,  # seconds-long runs: not worth timing, and fp32 on every CPU
    },
    "cpu": {},
    "paper": {
        "data.n_train": None, "data.n_valid": 10_000, "model.C": 16, "model.N": 5,
        "train.epochs": 250, "train.batch_size": 256, "train.lr": 0.1, "train.lr_schedule": "cosine",
        "train.checkpoint_every": 10,
        "eval.n_archs": 1000, "eval.calib_batches": 20, "eval.batch_size": 1000,
    },
}


def set_value(cfg: Config, dotted: str, value: Any) -> None:
    section_name, _, key = dotted.partition(".")
    sections = [f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))]
    target: Any = cfg
    if key:
        if section_name not in sections:
            raise ConfigError(f"unknown config section {section_name!r} in {dotted!r}; sections: {', '.join(sections)}")
        target = getattr(cfg, section_name)
    else:
        key = section_name
        if key in sections:
            raise ConfigError(f"{dotted!r} is a section; set its keys as {key}.KEY=VALUE")
    names = {f.name: f for f in dataclasses.fields(target)}
    if key not in names:
        raise ConfigError(f"unknown config key {dotted!r}; keys here: {', '.join(names)}")
    setattr(target, key, _coerce(value, getattr(target, key), dotted))


def _coerce(value: Any, current: Any, dotted: str) -> Any:
    """Parse a CLI string into the type of the current value (YAML scalars: 1, 0.5, true, null, [1, 2]); a text
    setting keeps the text as given (YAML reads `off`/`on` as booleans: a file's are read back as off/on)."""
    if isinstance(value, str):
        text = value
        try:
            value = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError as exc:
            raise ConfigError(f"cannot parse value for {dotted!r}: {exc}") from None
        if value is not None and isinstance(current, str):
            return text
    if isinstance(current, str) and isinstance(value, bool):
        return "on" if value else "off"
    if value is None or current is None:
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{dotted!r} needs true/false, got {value!r}")
        return value
    if isinstance(current, (int, float)) and not isinstance(value, bool) and isinstance(value, (int, float)):
        return type(current)(value) if isinstance(current, float) or float(value).is_integer() else value
    if isinstance(current, list) and isinstance(value, list):
        return value
    if isinstance(current, str):
        return str(value)
    raise ConfigError(f"{dotted!r} needs a value like {current!r}, got {value!r}")


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Flattened `section.key -> value` pairs of a YAML or TOML config file."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {file} does not exist; give a YAML (.yaml/.yml) or TOML (.toml) file")
    try:
        tree = tomllib.loads(file.read_text()) if file.suffix == ".toml" else yaml.safe_load(file.read_text())
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {file} does not parse: {exc}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"config file {file} must hold a mapping of sections (data:, model:, train:, ...)")
    return _flatten(tree)


def build_config(preset: str = "cpu", file: str | Path | None = None,
                 overrides: dict[str, Any] | None = None,
                 layers: Callable[[Config], Sequence[dict[str, Any]]] | None = None) -> Config:
    """Preset, then the space's values for that preset (SearchSpace.presets), then `layers`, then file, then
    overrides.

    The space and plugins are read from the file and overrides first, so the space's preset values apply under
    them. `layers(probe)` gives further preset layers from the user's own settings (`probe`: the defaults with
    the file and overrides applied), e.g. a search method's published settings. An unset analysis.truth becomes
    "<data.dataset>/test".
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    user = {**(read_config_file(file) if file else {}), **(overrides or {})}
    probe = apply_overrides(Config(), {k: v for k, v in user.items() if k in ("space", "plugins")})
    load_plugins(probe.plugins)
    extra = layers(apply_overrides(Config(preset=preset), user)) if layers else ()
    cfg = Config(preset=preset)
    for layer in (PRESETS[preset], space_presets(probe.space).get(preset, {}), *extra, user):
        apply_overrides(cfg, layer)
    if cfg.analysis.truth is None:
        cfg.analysis.truth = f"{cfg.data.dataset}/test"
    cfg.plugins = [normalise(entry) for entry in cfg.plugins]
    return cfg


SpacePresets = Callable[[str], dict[str, dict[str, Any]]]
_space_presets: list[SpacePresets] = []  # filled by wsnas.benchmarks.registry (the layer above) when imported


def set_space_presets(lookup: SpacePresets) -> None:
    """Install the lookup of a space's preset values by space name (wsnas.benchmarks.registry installs its own
    when imported, and the wsnas package imports it first): the core imports nothing of wsnas above it."""
    _space_presets[:] = [lookup]


def space_presets(space: str) -> dict[str, dict[str, Any]]:
    """The preset values a space declares (unknown spaces fail later, where the space is used)."""
    if not _space_presets:
        raise ConfigError(f"no search-space registry is loaded to read the presets of space {space!r}; import "
                          f"wsnas.benchmarks.registry")
    return _space_presets[0](space)




def apply_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """Set `section.key -> value` pairs on `cfg` (values may be CLI strings) and return it."""
    for dotted, value in overrides.items():
        set_value(cfg, dotted, value)
    return cfg


def config_from_dict(tree: dict[str, Any]) -> Config:
    """Rebuild a Config saved with `to_dict` (a run directory's config.json), importing its plugins."""
    cfg = apply_overrides(Config(), _flatten(tree))
    load_plugins(cfg.plugins)
    return cfg


def diff_configs(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """`section.key -> (saved, current)` for every key whose value differs."""
    a, b = _flatten(saved), _flatten(current)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def dumps(cfg: Config) -> str:
    return json.dumps(cfg.to_dict(), indent=2)
