"""`wsnas proxy-check`: wsnas's zero-cost proxies against a benchmark table's published ones
(wsnas.workflows.proxy_check; torch is imported only when the command runs)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, overrides_from_args
from wsnas.core.config import build_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("proxy-check", help="wsnas's zero-cost proxies of a benchmark sample's archs against the "
                                           "values published with its table (NASLib's nb101 and darts samples)")
    add_config_args(p, with_preset=True)
    p.add_argument("--proxies", default="synflow,jacov,snip,grad_norm",
                   help="comma-separated proxies both compute (default synflow,jacov,snip,grad_norm)")
    p.add_argument("--skeleton", default="benchmark", choices=("benchmark", "run"),
                   help="network the proxies run on: benchmark (the space's own; default) or run (the preset's)")
    p.add_argument("--batch-size", type=int, default=64, help="training images in the one batch (default 64)")
    p.add_argument("--proxy-seed", type=int, default=0, help="seed of the initialisation and the batch (default 0)")
    p.add_argument("--out", help="output directory (default reports/proxy-check/<space>)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from wsnas.supernets.proxies import ProxySettings
    from wsnas.workflows.proxy_check import SUMMARY, proxy_check

    cfg = build_config(args.preset, args.config, overrides_from_args(args))
    settings = ProxySettings(tuple(p.strip() for p in args.proxies.split(",") if p.strip()), args.skeleton,
                             args.batch_size, args.proxy_seed)
    out = Path(args.out or Path("reports") / "proxy-check" / cfg.space)
    table = proxy_check(cfg, out, settings)
    for row in table.itertuples(index=False):
        print(f"  {row.proxy:10s} n={row.n:4d}  Kendall {row.kendall:+.3f}  Spearman {row.spearman:+.3f}  "
              f"(with the truth: wsnas {row.wsnas_kendall_truth:+.3f}, published {row.published_kendall_truth:+.3f})")
    print(f"[proxy-check] {out / SUMMARY}")
