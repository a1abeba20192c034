"""`wsnas benchmarks list|fetch|import|correlate`: list the spaces and their ground-truth sources, fetch them,
import official files, and correlate a space's ground-truth columns (computed by wsnas.analysis.correlate)."""
from __future__ import annotations

import argparse
from pathlib import Path

from wsnas.analysis.correlate import add_arguments, cmd_correlate
from wsnas.benchmarks.all_sources import SOURCES
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.registry import get_space, space_names
from wsnas.benchmarks.space import SearchSpace
from wsnas.core.errors import WsnasError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("benchmarks", help="list spaces and ground-truth sources; fetch; import official files")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="spaces, their sizes and ground-truth sources")
    fetch = actions.add_parser("fetch", help="download (or read from a mirror) and verify the ground truth")
    fetch.add_argument("--space", default="nb201")
    fetch.add_argument("--data-mirror", help="local mirror directory (default: $WSNAS_DATA_MIRROR, else download)")
    imp = actions.add_parser("import", help="convert an official benchmark file into a wsnas ground-truth CSV")
    imp.add_argument("file", help="NAS-Bench-201-v1_*.pth (or a NATS-tss directory)")
    imp.add_argument("--out", required=True, help="CSV to write")
    imp.add_argument("--trust", action="store_true", help="allow arbitrary pickled objects in the file")
    add_arguments(actions.add_parser("correlate", help="Kendall and Spearman (95%% CIs) between every pair of a "
                                                       "space's ground-truth columns; table and heat map"))
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> None:
    if args.action == "list":
        _list()
    elif args.action == "correlate":
        cmd_correlate(args)
    elif args.action == "fetch":
        truth = load_ground_truth(args.space, args.data_mirror)
        print(f"{args.space}: {len(truth)} archs, metrics: {', '.join(truth.metrics())}")
        print(f"source: {truth.source}")
    else:
        from wsnas.benchmarks.spaces.nb201.official import import_official

        truth = import_official(Path(args.file), trust=args.trust)
        truth.to_csv(args.out)
        print(f"imported {len(truth)} archs with metrics {', '.join(truth.metrics())} -> {args.out}")


def _counts(space: SearchSpace) -> str:
    """Size and distinct functions; for a space too large to enumerate, those of the sample it enumerates."""
    try:
        enumerated, unique = len(space.sample(None, seed=0)), len(space.function_classes())
    except WsnasError as exc:  # a space that enumerates its ground-truth sample, which cannot be read here
        return f"{space.size():>7,} archs (its enumerated sample is not available: {exc})"
    if enumerated == space.size():
        return f"{space.size():>7,} archs, {unique:,} distinct functions"
    return f"{space.size():>7,} archs, enumerates a sample of {enumerated:,} ({unique:,} distinct functions)"


def _list() -> None:
    width = max(map(len, space_names()))
    for name in space_names():
        space = get_space(name)
        built_in = type(space).ground_truth is not SearchSpace.ground_truth
        truth = "ground truth: built in" if built_in else "ground truth: your table or `wsnas standalone`"
        print(f"{name:<{width}} {_counts(space)}  {space.description}  [{truth}]")
    print("\nsources (pinned upstream files; verified by sha256):")
    for source in SOURCES.values():
        print(f"  {source.name:<38} {source.origin:<40} mirror: {source.mirror_path}")
    print("\nfetch and verify them with `wsnas benchmarks fetch` (offline: --data-mirror DIR)")
