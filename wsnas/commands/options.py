"""Options every command shares: the config flags, their overrides, a new or an existing run, --plugin."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, TypeVar

from wsnas.core.config import PRESETS, Config, apply_overrides, build_config
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir

T = TypeVar("T")

# Named flags and the config keys they set.
FLAG_KEYS = {
    "space": "space", "data": "data.root", "data_mirror": "data.mirror", "device": "runtime.device",
    "epochs": "train.epochs", "archs": "eval.n_archs", "bn_policy": "eval.bn_policy", "truth": "analysis.truth",
    "sampler": "train.sampler", "dataset": "data.dataset", "replicates": "replicates",
    "jobs": "runtime.replicate_jobs",
}


def add_config_args(p: argparse.ArgumentParser, with_preset: bool) -> None:
    if with_preset:
        p.add_argument("--preset", default="cpu", choices=list(PRESETS),
                       help="named size: smoke (seconds, for tests), cpu (default, minutes on 2 cores), paper (GPU)")
        p.add_argument("--config", help="YAML or TOML file with sections data/model/train/eval/analysis/runtime")
        p.add_argument("--space", help="search space (see `wsnas benchmarks list`)")
        p.add_argument("--dataset", help="dataset the supernet trains on (default: the space's, e.g. cifar10, cora)")
        p.add_argument("--sampler", help="training path sampler: uniform (over strings), unique (over functions), "
                                         "sandwich (largest + smallest + uniform, for slimmable spaces) or "
                                         "strict_fair (FairNAS: every op of every slot once per step)")
        p.add_argument("--epochs", help="supernet training epochs")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set train.lr=0.1 (repeatable)")
    p.add_argument("--data", help="CIFAR-10 location: python archive, cifar-10-batches-py dir, or ImageFolder tree")
    p.add_argument("--data-mirror", help="local mirror of the upstream files (default: $WSNAS_DATA_MIRROR)")
    p.add_argument("--device", help="auto (default), cpu or cuda[:i]")
    p.add_argument("--archs", help="number of archs to evaluate ('null' = all)")
    p.add_argument("--bn-policy", help="recalibrate (default), inherit or batch")
    p.add_argument("--truth", help="ground-truth column, e.g. cifar10/test or cifar10-valid/valid")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def csv_list(text: str, parse: Callable[[str], T], flag: str, example: str) -> list[T]:
    """A comma-separated option as a list of values; a clear error naming the flag otherwise."""
    try:
        return [parse(item.strip()) for item in text.split(",") if item.strip()]
    except ValueError:
        raise WsnasError(f"{flag} {text!r} must be a comma-separated list like {example}") from None


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise WsnasError(f"--set {item!r} must look like KEY=VALUE, e.g. --set train.epochs=5")
        out[key.strip()] = value
    for flag, key in FLAG_KEYS.items():
        value = getattr(args, flag, None)
        if value is not None:
            out[key] = value
    if getattr(args, "plugin", None):
        out["plugins"] = list(args.plugin)
    if args.quiet:
        out["runtime.progress"] = False
    return out


def new_run(args: argparse.Namespace) -> tuple[Config, RunDir]:
    """A run directory for a new training (--run-dir, default runs/<space>-<preset>), its config resolved."""
    cfg = build_config(args.preset, args.config, overrides_from_args(args))
    run = RunDir(args.run_dir or Path("runs") / f"{cfg.space}-{cfg.preset}")
    run.init(cfg)
    return cfg, run


def existing_run(args: argparse.Namespace, path: str | Path | None = None) -> tuple[Config, RunDir]:
    """The run args.run (or `path`) with its saved config, the command's overrides applied."""
    run = RunDir(path or args.run)
    kind = run.kind or "run"  # no config.json: saved_tree below names the problem
    if kind != "run":
        raise WsnasError(f"{run.path} holds a wsnas {kind}, not a trained run: `wsnas {args.command}` works on run "
                         f"directories made by `wsnas train` or `wsnas study`; draw its figures with "
                         f"`wsnas report {run.path}`")
    cfg = run.config()
    overrides = {k: v for k, v in overrides_from_args(args).items() if k != "plugins"}  # the run's own are saved
    if overrides:
        apply_overrides(cfg, overrides)
        run.init(cfg)
    return cfg, run


PLUGIN_HELP = "import a plugin that registers your own space (a module or a .py file; repeatable)"


def add_plugin_option(parser: argparse.ArgumentParser) -> None:
    """--plugin on every command below `parser` (the leaves: a parent's option would be reset by its
    subcommand's default), so every command sees a plugin's space."""
    children = [child for action in parser._actions if isinstance(action, argparse._SubParsersAction)
                for child in action.choices.values()]
    for child in children:
        add_plugin_option(child)
    if not children and "--plugin" not in parser._option_string_actions:
        parser.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE", help=PLUGIN_HELP)
