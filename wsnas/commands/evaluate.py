"""`wsnas evaluate`: score the sampled subnets of a trained run, a shard of them, or every member of a group."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.commands.options import add_config_args, existing_run
from wsnas.core.errors import WsnasError
from wsnas.core.groups import ReplicateGroup, is_group
from wsnas.workflows.pipeline import evaluate


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score sampled subnets of a trained run")
    p.add_argument("run", help="run directory, or a replicate group (all its members)")
    add_config_args(p, with_preset=False)
    p.set_defaults(func=run)
    p.add_argument("--shard", metavar="I/N", help="score only shard I of N of the sampled archs (default "
                   "under torchrun: RANK/WORLD_SIZE); the last shard to finish merges all into scores.csv")
    p.add_argument("--merge", action="store_true", help="merge RUN/shards/*.csv into scores.csv and stop")
    p.add_argument("--flush-every", type=int, metavar="N", help="write results every N subnets (default 20)")


def run(args: argparse.Namespace) -> None:
    if is_group(args.run):  # every member, one after the other, with the same overrides
        if args.merge or args.shard:
            raise WsnasError(f"{args.run} is a replicate group; shard or merge its members one at a time "
                             f"(e.g. `wsnas evaluate {Path(args.run) / 'rep-0'} --shard 0/2`)")
        for member in ReplicateGroup(args.run).members():
            print(f"[evaluate] {member.path}")
            cfg, member = existing_run(args, member.path)
            evaluate(cfg, member, None, args.flush_every)
        return
    cfg, run_dir = existing_run(args)
    if args.merge:
        from wsnas.supernets.evaluate import merge_shards

        merge_shards(run_dir)
        return
    evaluate(cfg, run_dir, args.shard, args.flush_every)
