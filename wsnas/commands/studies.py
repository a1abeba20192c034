"""`wsnas studies`: the rank-disorder studies of a run, a replicate group or an audit (no torch;
wsnas.analysis.studies.runner computes them, the registry lists them)."""
from __future__ import annotations

import argparse
import json

from wsnas.analysis.studies.null_bands import NULL_SIMS
from wsnas.analysis.studies import registry
from wsnas.analysis.studies.runner import run_studies


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("studies", help="rank-disorder studies of a run: epochs, top-k, size bias, operator bias")
    p.add_argument("run", help="run directory (evaluated; several epochs for the epochs study)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(registry.computed())} (default: all)")
    p.add_argument("--truth", help="ground-truth column (default: the run's analysis.truth; an audit's first)")
    p.add_argument("--score", help="an audit's score column (default: its first)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: the run's, or $WSNAS_DATA_MIRROR)")
    p.add_argument("--draws", type=int, default=200, help="topk: seeded draws (default 200)")
    p.add_argument("--draw-size", type=int, default=100,
                   help="topk: archs per draw (default 100; 80%% of the evaluated archs when they are fewer)")
    p.add_argument("--null-sims", type=int, default=NULL_SIMS,
                   help=f"bias, operators: draws of the unbiased null scorer (default {NULL_SIMS})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> None:
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    paths = run_studies(args.run, names, metric=args.truth, mirror=args.data_mirror, draws=args.draws,
                        draw_size=args.draw_size, null_sims=args.null_sims, progress=False if args.quiet else None,
                        score=args.score)
    for name, path in paths.items():
        doc = json.loads(path.read_text())
        print(f"[studies] {name}: {path}")
        for line in doc["findings"]:
            print(f"  {line}")
