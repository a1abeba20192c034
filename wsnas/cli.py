"""The `wsnas` command line: train, evaluate, analyze, study, benchmarks.

Commands that need torch import it only when they run, so `analyze` and `benchmarks` work without it.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

from wsnas.core.config import PRESETS, Config, apply_overrides, build_config
from wsnas.core.errors import WsnasError
from wsnas.core.groups import ReplicateGroup, is_group, member_config
from wsnas.core.plugins import load_plugins
from wsnas.core.runs import RunDir

# Modules that add their own subcommands: each has add_parser(subparsers) that sets `func` on its parser.
COMMAND_MODULES = ("wsnas.benchmarks.catalog", "wsnas.analysis.results_cli", "wsnas.analysis.audit",
                   "wsnas.analysis.paired_cli", "wsnas.supernets.study_cli", "wsnas.analysis.studies",
                   "wsnas.analysis.report", "wsnas.supernets.bench", "wsnas.supernets.standalone",
                   "wsnas.supernets.proxies_cli", "wsnas.supernets.search_cli", "wsnas.analysis.search_report",
                   "wsnas.supernets.autotune_cli")

# Named flags and the config keys they set.
FLAG_KEYS = {
    "space": "space", "data": "data.root", "data_mirror": "data.mirror", "device": "runtime.device",
    "epochs": "train.epochs", "archs": "eval.n_archs", "bn_policy": "eval.bn_policy", "truth": "analysis.truth",
    "sampler": "train.sampler", "dataset": "data.dataset", "replicates": "replicates",
}


def add_config_args(p: argparse.ArgumentParser, with_preset: bool) -> None:
    if with_preset:
        p.add_argument("--preset", default="cpu", choices=list(PRESETS),
                       help="named size: smoke (seconds, for tests), cpu (default, minutes on 2 cores), paper (GPU)")
        p.add_argument("--config", help="YAML or TOML file with sections data/model/train/eval/analysis/runtime")
        p.add_argument("--space", help="search space (see `wsnas benchmarks list`)")
        p.add_argument("--dataset", help="dataset the supernet trains on (default: the space's, e.g. cifar10, cora)")
        p.add_argument("--sampler", help="training path sampler: uniform (over strings), unique (over functions) "
                                         "or sandwich (largest + smallest + uniform, for slimmable spaces)")
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


def _new_run(args: argparse.Namespace) -> tuple[Config, RunDir]:
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


def cmd_train(args: argparse.Namespace) -> None:
    from wsnas.supernets.train import train_supernet

    cfg, run = _new_run(args)
    result = train_supernet(cfg, run)
    print(f"[train] {run.path}: {result.epochs_done} epochs, {result.seconds:.1f}s, "
          f"{result.images_per_second:.0f} images/s")


def cmd_evaluate(args: argparse.Namespace) -> None:
    if is_group(args.run):  # every member, one after the other, with the same overrides
        if args.merge or args.shard:
            raise WsnasError(f"{args.run} is a replicate group; shard or merge its members one at a time "
                             f"(e.g. `wsnas evaluate {Path(args.run) / 'rep-0'} --shard 0/2`)")
        for run in ReplicateGroup(args.run).members():
            print(f"[evaluate] {run.path}")
            cfg, run = existing_run(args, run.path)
            _evaluate(cfg, run, None, args.flush_every)
        return
    cfg, run = existing_run(args)
    if args.merge:
        from wsnas.supernets.evaluate import merge_shards

        merge_shards(run)
        return
    _evaluate(cfg, run, args.shard, args.flush_every)


def _evaluate(cfg: Config, run: RunDir, shard: str | None = None, flush_every: int | None = None) -> None:
    from wsnas.analysis.compare import stamp_scores
    from wsnas.benchmarks.groundtruth import load_ground_truth
    from wsnas.supernets.evaluate import FLUSH_EVERY, Shard, evaluate_run

    part = Shard.parse(shard) if shard else None
    truth = load_ground_truth(cfg.space, cfg.data.mirror, cfg.analysis.truth_file)
    stamp_scores(run.path, truth)
    evaluate_run(cfg, run, index_of=truth.index_of, shard=part, flush_every=flush_every or FLUSH_EVERY)


def cmd_analyze(args: argparse.Namespace) -> None:
    if is_group(args.run):
        cfg = ReplicateGroup(args.run).config()
        overrides = overrides_from_args(args)
        if overrides:
            apply_overrides(cfg, overrides)
    else:
        cfg, _ = existing_run(args)
    _analyze(cfg, Path(args.run))


def _analyze(cfg: Config, directory: Path) -> dict[str, Any]:
    """Analyze a run or a replicate group into DIRECTORY/metrics.json and print the verdict first. A group's
    members get their own metrics.json (their single-run figures) too."""
    from wsnas.analysis.store import index_and_report
    from wsnas.analysis.verdicts import analyze_tables, format_results, load_tables
    from wsnas.core.atomic import write_json

    a = cfg.analysis
    data = load_tables(directory, cfg=cfg)
    results = analyze_tables(data.tables, data.members, space=cfg.space,
                             directory=directory, truth=data.truth, metric=data.metric, topk=a.topk,
                             n_boot=a.n_boot, seed=a.seed)
    metrics = {"space": cfg.space, "truth": a.truth, "truth_source": data.truth.source, "n_boot": a.n_boot,
               "bootstrap_seed": a.seed, "replicates": len(data.runs), "results": results}
    if len(data.runs) > 1:
        for i, run in enumerate(data.runs):
            member = [r["members"][i] for r in results]
            write_json(run.metrics_path, {**metrics, "replicates": 1, "results": member,
                                          "config": run.config().to_dict()})
    write_json(directory / "metrics.json", {**metrics, "config": cfg.to_dict()})
    if len(data.runs) == 1:
        data.runs[0].record("analyze", cfg)
    print(format_results(results, a.truth))
    print(f"[analyze] metrics: {directory / 'metrics.json'}")
    print(f"[analyze] {index_and_report(directory)}")
    return metrics


def cmd_study(args: argparse.Namespace) -> None:
    from wsnas.supernets import distributed
    from wsnas.supernets.train import train_supernet

    began = time.perf_counter()
    cfg = build_config(args.preset, args.config, overrides_from_args(args))
    path = Path(args.run_dir or Path("runs") / f"{cfg.space}-{cfg.preset}")
    if cfg.replicates < 1:
        raise WsnasError(f"--replicates {cfg.replicates}: train at least 1 supernet (3 or more for a verdict)")
    from wsnas.benchmarks.groundtruth import load_ground_truth

    truth = load_ground_truth(cfg.space, cfg.data.mirror, cfg.analysis.truth_file)  # a bad table fails before training
    truth.values(cfg.analysis.truth, [])  # and so does a column it lacks
    group = ReplicateGroup(path) if cfg.replicates > 1 or is_group(path) else None  # a group stays one
    if group is not None:
        group.init(cfg)
    for replicate in range(cfg.replicates):
        member_cfg = member_config(cfg, replicate) if group else cfg
        run = group.member(replicate) if group else RunDir(path)
        run.init(member_cfg)
        if group:
            print(f"[study] replicate {replicate + 1}/{cfg.replicates}: {run.path} (train.seed="
                  f"{member_cfg.train.seed})")
        train_supernet(member_cfg, run)
        _evaluate(member_cfg, run)
        distributed.barrier()  # under torchrun: every rank's shard is scored and merged before rank 0 analyzes
    if not distributed.launched_world().is_main:
        return
    if cfg.eval.proxies:
        from wsnas.supernets.proxies import ProxySettings, run_proxies

        first = group.member(0) if group else RunDir(path)
        run_proxies(member_config(cfg, 0) if group else cfg, first, path,
                    ProxySettings(tuple(cfg.eval.proxies), cfg.eval.proxy_skeleton))
    _analyze(cfg, path)
    print(f"[study] {path} done in {time.perf_counter() - began:.0f}s")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsnas", description="Supernet ranking analysis for weight-sharing NAS.")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, fn, help_text in (("train", cmd_train, "train a uniform-sampling supernet"),
                                ("study", cmd_study, "train, evaluate and analyze in one go")):
        p = sub.add_parser(name, help=help_text)
        add_config_args(p, with_preset=True)
        p.add_argument("--run-dir", help="run directory (default runs/<space>-<preset>); rerun to resume")
        if name == "study":
            p.add_argument("--replicates", help="supernets to train, differing only in train.seed (default 3 at the "
                                                "cpu and paper presets, 1 at smoke); the figures are their mean with "
                                                "a two-level bootstrap CI, in a replicate group RUN_DIR/rep-<r>/")
        p.set_defaults(func=fn)
    for name, fn, help_text in (("evaluate", cmd_evaluate, "score sampled subnets of a trained run"),
                                ("analyze", cmd_analyze, "compare a run's scores with the ground truth")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("run", help="run directory, or a replicate group (all its members)")
        add_config_args(p, with_preset=False)
        p.set_defaults(func=fn)
        if name == "evaluate":
            p.add_argument("--shard", metavar="I/N", help="score only shard I of N of the sampled archs (default "
                           "under torchrun: RANK/WORLD_SIZE); the last shard to finish merges all into scores.csv")
            p.add_argument("--merge", action="store_true", help="merge RUN/shards/*.csv into scores.csv and stop")
            p.add_argument("--flush-every", type=int, metavar="N", help="write results every N subnets (default 20)")

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    add_plugin_option(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_plugins(getattr(args, "plugin", None) or [])
        args.func(args)
    except WsnasError as exc:
        print(f"wsnas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wsnas: interrupted; rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
