"""`wsnas search`: run a weight-sharing search method on a space's supernet, then score its supernet and its own
ranking against the ground truth (wsnas.workflows.search; this module imports no torch, the search does when it
runs).

    wsnas search --method darts-v1 --space nb201 [--seeds 0,1,2] [--preset smoke|cpu|paper] [--baseline]
    wsnas search --method snas --lambdas 0,0.5,2 ...      SNAS's resource trade-off (derived archs only)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.benchmarks.search_methods import method_names, method_record
from wsnas.commands.options import add_config_args, csv_list, overrides_from_args
from wsnas.core.errors import WsnasError
from wsnas.workflows.search import SearchJob, search_seeds, snas_tradeoff


def _seeds(text: str | None) -> list[int] | None:
    seeds = None if text is None else csv_list(text, int, "--seeds", "0,1,2")
    if seeds is not None and (not seeds or len(set(seeds)) != len(seeds)):
        raise WsnasError(f"--seeds {text!r} must list at least one seed, each once")
    return seeds


def _lambdas(text: str | None) -> list[float] | None:
    values = None if text is None else csv_list(text, float, "--lambdas", "0,0.5,2")
    if values is not None and (not values or any(v < 0 for v in values)):
        raise WsnasError(f"--lambdas {text!r} must list non-negative penalty weights")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="run a weight-sharing search method (RSPS, ENAS, DARTS, GDAS, SNAS, GAEA) and "
                                      "score what it picks and how it ranks")
    add_config_args(p, with_preset=True)
    p.add_argument("--method", required=True, choices=method_names(), help="the search method")
    p.add_argument("--seeds", help="search seeds, comma-separated (default: train.seed); one run per seed")
    p.add_argument("--run-dir", help="directory of the search (default runs/search-<space>-<method>-<preset>); "
                                     "rerun to resume")
    p.add_argument("--baseline", action="store_true",
                   help="also run the uniform supernet of the same budget (RSPS, same data, level, optimiser, epochs)")
    p.add_argument("--lambdas", help="SNAS only: resource-penalty weights to sweep (derived archs only, no evaluation)")
    p.add_argument("--no-evaluate", action="store_true", help="search only: skip `wsnas evaluate` and `analyze`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    lambdas = _lambdas(args.lambdas)
    if lambdas is not None and args.method != "snas":
        raise WsnasError("--lambdas sweeps SNAS's resource penalty; use it with --method snas")
    job = SearchJob(args.preset, args.config, {**overrides_from_args(args), "search.method": args.method})
    probe = job.config()
    seeds = _seeds(args.seeds) or [probe.train.seed]
    suffix = f"-{probe.search.gaea_base}" if method_record(args.method).bases else ""
    root = Path(args.run_dir or Path("runs") / f"search-{probe.space}-{args.method}{suffix}-{probe.preset}")
    if lambdas is not None:
        print(snas_tradeoff(job, lambdas, seeds, root))
        return
    print(search_seeds(job, seeds, root, evaluate=not args.no_evaluate, baseline=args.baseline))
