"""`wsnas proxies RUN`: zero-cost proxies of the archs `wsnas evaluate RUN` scores (wsnas.supernets.proxies).

This module imports no torch: the proxies are imported only when the command runs.
"""
from __future__ import annotations

import argparse

from wsnas.commands.options import add_config_args, existing_run
from wsnas.core.groups import runs_of


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("proxies", help="zero-cost proxies (synflow, naswot, ...) of the archs `evaluate` scores, "
                                       "computed at initialisation: RUN/proxies.csv (resumable)")
    p.add_argument("run", help="run directory or replicate group (only the config is read: no training needed; a "
                               "group's members share GROUP/proxies.csv)")
    add_config_args(p, with_preset=False)
    p.add_argument("--proxies", default="synflow,naswot",
                   help="comma-separated, from synflow, naswot, jacov, snip, grad_norm (default synflow,naswot)")
    p.add_argument("--skeleton", default="benchmark", choices=("benchmark", "run"),
                   help="network the proxies run on: benchmark (the space's own, as in the paper preset; default) "
                        "or run (the run's model.* settings)")
    p.add_argument("--batch-size", type=int, default=64, help="training images in the one batch (default 64)")
    p.add_argument("--proxy-seed", type=int, default=0, help="seed of the initialisation and the batch (default 0)")
    p.set_defaults(func=cmd_proxies)


def cmd_proxies(args: argparse.Namespace) -> None:
    from wsnas.supernets.proxies import ProxySettings, run_proxies

    settings = ProxySettings(tuple(p.strip() for p in args.proxies.split(",") if p.strip()), args.skeleton,
                             args.batch_size, args.proxy_seed)
    first = runs_of(args.run)[0]
    cfg, run = existing_run(args, first.path)
    table = run_proxies(cfg, run, args.run, settings)
    print(f"[proxies] {len(table)} archs x {', '.join(settings.proxies)}")
