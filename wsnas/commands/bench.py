"""`wsnas bench`: wsnas's training and evaluation speed side by side with a peer and a naive baseline
(wsnas.supernets.bench, run by wsnas.workflows.bench); `--gpu`: the GPU check (wsnas.supernets.bench.gpu_check);
`--compare OLD.json`: each figure's ratio to a saved document. Torch is imported only when a bench runs."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from wsnas.benchmarks.registry import get_space
from wsnas.core.errors import WsnasError
from wsnas.supernets.bench.measure import compare, read_document
from wsnas.supernets.bench.sizes import SIZES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="training and evaluation throughput against xautodl and naive baselines, "
                                     "scaling, profile (minutes on 2 cores); --gpu: the GPU check")
    p.add_argument("--quick", action="store_true", help="tiny sizes that only check the machinery (seconds)")
    p.add_argument("--gpu", action="store_true", help="the GPU check at the paper shape instead (at most 8 minutes "
                                                      "on one GPU; with --quick, a smoke run on any device)")
    p.add_argument("--out", default="runs/bench", help="output directory: bench.json (gpu_check.json with --gpu) "
                                                       "and the scaling runs")
    p.add_argument("--compare", metavar="OLD.json", help="print each figure's ratio to this saved bench document")
    p.add_argument("--against", metavar="NEW.json", help="with --compare: compare with this saved document "
                                                         "instead of running a bench")
    p.add_argument("--rounds", type=int, help="interleaved rounds of each side-by-side measurement (default 3)")
    p.add_argument("--spaces", default="nb201,macro",
                   help="spaces of the scaling measurements; a space with no supernet is skipped with a note")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the baselines")
    p.add_argument("--data", help="CIFAR-10 location (as for `wsnas train --data`)")
    p.add_argument("--data-mirror", help="local mirror of the upstream files (default: $WSNAS_DATA_MIRROR)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda[:i]")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> None:
    if args.against:
        if not args.compare:
            raise WsnasError("--against NEW.json compares with an older document: give it with --compare OLD.json")
        print("\n".join(compare(read_document(args.compare), read_document(args.against))))
        return
    old = read_document(args.compare) if args.compare else None  # a bad file stops before minutes of measuring
    if args.workers < 0:
        raise WsnasError(f"--workers {args.workers}: give 0 (load in the main process) or more worker processes")
    if args.rounds is not None and args.rounds < 1:
        raise WsnasError(f"--rounds {args.rounds}: give 1 or more (3 or more for a median with a range)")
    spaces = [s.strip() for s in args.spaces.split(",") if s.strip()]
    if not spaces:
        raise WsnasError(f"--spaces {args.spaces!r} names no space; give e.g. --spaces nb201,macro")
    for space in spaces:
        get_space(space)  # a misspelt space stops here, naming the known ones
    given = {"data.root": args.data, "data.mirror": args.data_mirror, "runtime.device": args.device,
             "runtime.threads": args.threads, "runtime.progress": not args.quiet, "train.sampler": "uniform",
             "eval.bn_policy": "recalibrate", "eval.finetune_batches": 0}
    common = {k: v for k, v in given.items() if v is not None}
    if args.gpu:
        from wsnas.supernets.bench.gpu_check import format_gpu_report, run_gpu_check

        document = run_gpu_check(Path(args.out), common, quick=args.quick)
        print(format_gpu_report(document))
        name = "gpu_check.json"
    else:
        from wsnas.supernets.bench.report import format_report
        from wsnas.workflows.bench import run_bench

        size = SIZES["quick" if args.quick else "default"]
        if args.rounds:
            size = dataclasses.replace(size, rounds=args.rounds)
        options = {"size": "quick" if args.quick else "default", "spaces": spaces, "workers": args.workers,
                   "out": args.out, "rounds": size.rounds, **common}
        document = run_bench(size, Path(args.out), spaces, args.workers, common, options)
        print(format_report(document))
        name = "bench.json"
    print(f"[bench] {Path(args.out) / name}")
    if old is not None:
        print("\n".join(compare(old, document)))
