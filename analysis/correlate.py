"""`wsnas benchmarks correlate SPACE`: how a benchmark's own truth columns rank each other (no torch).

Every pair of the space's ground-truth columns (datasets, splits, fidelities such as NAS-Bench-201's 12-epoch
against its 200-epoch columns, per-seed runs) and its size columns (the table's params/FLOPs, else the space's
features params_M/flops_M) gets Kendall tau-b and Spearman rho with 95% bootstrap intervals, from the engine of the
multi-truth audit (wsnas.analysis.pair_grid): pairwise complete, over a seeded sample of the table's archs (`--archs`,
default 1000; `all` for every arch: the Kendall bootstrap costs O(n_boot n^2) per pair). Values are taken as
they are (`--lower-is-better COL` orients a column first). Works on a built-in space and on a plugin's
(`--plugin FILE`; a space without a built-in table needs `--truth-file CSV`), and on any other name with
`--truth-file CSV`: a table of a space wsnas does not know, read as `wsnas audit` reads one (separator sniffed, the
key column `--key-col`, every other column with numbers a value column; the name is a label).

Writes OUT/pairs.csv (one row per pair), OUT/pairs.json, OUT/heatmap.png, OUT/metrics.json (each pair in both
orders, as results with score = one column and truth = the other, so `wsnas query kendall --kind correlate
--truth cifar10/test` lists every partner of a column) and OUT/config.json; the directory is indexed into the
results database and never overwritten by another correlation (wsnas.analysis.outdirs).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from wsnas.analysis.audit.tables import check_unique, comma_list, keys_of, read_table, require
from wsnas.analysis.features import FLOPS, PARAMS, feature_table
from wsnas.analysis.outdirs import claim, digest, output_directory
from wsnas.analysis.pair_grid import PAIR_STATS, PairGrid, correlation_grid, format_pairs
from wsnas.analysis.plots.pairs import heatmap_figure
from wsnas.analysis.plots.style import save
from wsnas.analysis.store import index_and_report
from wsnas.benchmarks.groundtruth import GroundTruth, load_ground_truth
from wsnas.benchmarks.registry import space_names
from wsnas.benchmarks.sources import file_sha256
from wsnas.core.atomic import atomic_path, write_json
from wsnas.core.config import AnalysisConfig
from wsnas.core.errors import WsnasError
from wsnas.core.plugins import normalise
from wsnas.core.run_files import CONFIG, METRICS
from wsnas.core.runs import provenance

KIND = "correlate"
DEFAULT_ARCHS = 1000
SIZE_NAMES = ("params", "flops")  # a table column named so (or <dataset>/params) is a size column already


class CorrelateError(WsnasError):
    """A correlation of benchmark columns that cannot be made as asked."""


def _has_size(columns: Sequence[str], name: str) -> bool:
    return any(c == name or c.endswith(f"/{name}") for c in columns)


def column_frame(truth: GroundTruth, keys: Sequence[str]) -> pd.DataFrame:
    """The table's value columns for `keys` (metrics and per-seed runs, params/FLOPs), plus the space's features
    params_M / flops_M where the table has no such column."""
    rows = truth.frame.set_index("key").loc[list(keys)]
    values = rows.drop(columns="index").apply(pd.to_numeric, errors="coerce")
    features = feature_table(truth.space, keys) if truth.space in space_names() else pd.DataFrame()
    for name, column in zip(SIZE_NAMES, (PARAMS, FLOPS)):
        if column in features.columns and not _has_size(list(values.columns), name):
            values[column] = features[column].to_numpy(dtype=float)
    return values.reset_index(drop=True)


def read_truth(space: str, mirror: str | None, truth_file: str | None, key_col: str = "key") -> GroundTruth:
    """The table to correlate: a registered space's (its own, or `truth_file` in its format), else `truth_file`
    read as an audit reads a table, its `key_col` the keys and every other column holding numbers a value column."""
    if space in space_names():
        return load_ground_truth(space, mirror, truth_file)
    if not truth_file:
        raise CorrelateError(f"space {space!r} is not registered ({', '.join(space_names())}); give its table with "
                             f"--truth-file CSV (a key column and value columns), or a plugin's space with --plugin "
                             f"FILE")
    table = read_table(Path(truth_file), "truth", "--truth-file")
    require(table, key_col, "--key-col")
    keys = keys_of(table, key_col, None)
    check_unique(table, [keys], False)
    values = table.frame.drop(columns=[c for c in (key_col, "index") if c in table.frame.columns])
    values = values.apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce"))
    numeric = [c for c in values.columns if values[c].notna().any()]
    if len(numeric) < 2:
        raise CorrelateError(f"truth table {truth_file} has {len(numeric)} column(s) with numbers "
                             f"({', '.join(numeric) or 'none'}; key column {key_col!r}); a correlation needs two or "
                             f"more value columns")
    frame = pd.DataFrame({"key": keys, "index": range(len(keys)), **{c: values[c].to_numpy() for c in numeric}})
    return GroundTruth(frame, space, f"table {truth_file}")


def sample_keys(truth: GroundTruth, archs: int | None, seed: int) -> list[str]:
    """`archs` keys of the table drawn without replacement with `seed` (all of them for None)."""
    keys = truth.frame["key"].tolist()
    if archs is None or archs >= len(keys):
        return keys
    picked = np.sort(np.random.default_rng(seed).choice(len(keys), size=archs, replace=False))
    return [keys[i] for i in picked]


def _choose(frame: pd.DataFrame, columns: Sequence[str] | None, lower: Sequence[str]) -> list[str]:
    available = list(frame.columns)
    chosen = list(columns) if columns else available
    unknown = [c for c in [*chosen, *lower] if c not in available]
    if unknown:
        raise CorrelateError(f"no column {', '.join(map(repr, unknown))} in the table; its columns: "
                             f"{', '.join(available)}")
    if len(chosen) < 2:
        raise CorrelateError(f"--columns names {len(chosen)} column; a correlation needs two or more")
    return chosen


def parse_archs(text: str | None) -> int | None:
    if text is None:
        return DEFAULT_ARCHS
    if text.lower() in ("all", "null", "none"):
        return None
    try:
        archs = int(text)
    except ValueError:
        archs = 0
    if archs < 3:
        raise CorrelateError(f"--archs {text!r} must be a whole number >= 3, or 'all'")
    return archs


def correlate(space: str, *, mirror: str | None = None, truth_file: str | None = None,
              columns: Sequence[str] | None = None, lower: Sequence[str] = (), archs: int | None = DEFAULT_ARCHS,
              n_boot: int = 1000, seed: int = 0, out: str | Path | None = None, name: str | None = None,
              plugins: Sequence[str] = (), progress: bool = True, key_col: str = "key") -> tuple[Path, PairGrid]:
    """Correlate the columns of `space`'s ground truth pairwise and write the directory (module docstring)."""
    if n_boot < 1:
        raise CorrelateError(f"--n-boot {n_boot} must be at least 1 (bootstrap resamples), e.g. 1000")
    truth = read_truth(space, mirror, truth_file, key_col)
    keys = sample_keys(truth, archs, seed)
    frame = column_frame(truth, keys)
    chosen = _choose(frame, columns, lower)
    for column in lower:
        frame[column] = -frame[column]
    identity = {"space": space, "source": truth.source,
                "truth_file_sha256": file_sha256(Path(truth_file)) if truth_file else None,
                **({"key_col": key_col} if space not in space_names() else {}),
                "columns": chosen, "lower_is_better": sorted(lower), "archs": len(keys), "n_boot": n_boot,
                "seed": seed}
    path = output_directory(out, name, KIND, f"{space}-{digest(identity)}")
    claim(path, KIND, identity)
    grid = correlation_grid(frame, chosen, chosen, n_boot=n_boot, seed=seed, symmetric=True, progress=progress)
    _write(path, grid, identity, truth, space, plugins)
    return path, grid


def _results(grid: PairGrid) -> list[dict[str, Any]]:
    """Each pair of distinct columns in both orders, as metrics.json results (score = a, truth = b)."""
    out = []
    for (a, b), cell in grid.cells.items():
        if a == b:
            continue
        for first, second in ((a, b), (b, a)):
            out.append({"epoch": 0, "bn_policy": "n/a", "finetune_batches": 0, "score": first, "truth": second,
                        "n_archs": cell["n"], **{stat: cell[stat] for stat in PAIR_STATS}})
    return out


def _write(path: Path, grid: PairGrid, identity: dict[str, Any], truth: GroundTruth, space: str,
           plugins: Sequence[str]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    config = {"space": space, "plugins": [normalise(p) for p in plugins]}
    write_json(path / CONFIG, {"kind": KIND, "config": config, "correlate": {"identity": identity},
                                      "provenance": provenance()})
    write_json(path / "pairs.json", {"space": space, "source": truth.source, **grid.to_dict()})
    with atomic_path(path / "pairs.csv") as tmp:
        pd.DataFrame(grid.records()).to_csv(tmp, index=False)
    write_json(path / METRICS, {"kind": KIND, "space": space, "truth": None, "truth_source": truth.source,
                                       "n_boot": identity["n_boot"], "bootstrap_seed": identity["seed"],
                                       "results": _results(grid), "config": config})
    with atomic_path(path / "heatmap.png") as tmp:
        save(heatmap(grid, space, identity["archs"]), tmp)


def heatmap(grid: PairGrid, space: str, archs: int):
    """The Kendall heat map of a correlation's grid."""
    return heatmap_figure(grid, f"{space}: ground-truth columns ranked against each other ({archs} archs)")


# --------------------------------------------------------------------------------------------------- CLI

def add_arguments(p: argparse.ArgumentParser) -> None:
    defaults = AnalysisConfig()
    p.add_argument("space", help="a built-in space, or a plugin's (with --plugin FILE), or any name with "
                                 "--truth-file (a label)")
    p.add_argument("--truth-file", help="a ground-truth CSV: for a registered space without a built-in table its key, "
                                        "index and metric columns; for any other name a key column (--key-col) and "
                                        "value columns, separator sniffed")
    p.add_argument("--key-col", default="key", help="arch key column of --truth-file for a name wsnas does not "
                                                    "know (default: key)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: $WSNAS_DATA_MIRROR)")
    p.add_argument("--columns", help="comma-separated columns to correlate (default: all)")
    p.add_argument("--lower-is-better", action="append", default=[], metavar="COL[,COL]",
                   help="columns to negate first (lower is better: latency, loss)")
    p.add_argument("--archs", help=f"archs sampled from the table (default {DEFAULT_ARCHS}; 'all' for every one)")
    p.add_argument("--n-boot", type=int, default=defaults.n_boot, help=f"bootstrap resamples ({defaults.n_boot})")
    p.add_argument("--seed", type=int, default=defaults.seed, help="sample and bootstrap seed (0)")
    p.add_argument("--name", help="output directory runs/correlate-NAME (default: derived from the inputs)")
    p.add_argument("--out", help="output directory (instead of --name)")
    p.add_argument("--db", help="results database (default: $WSNAS_DB, else runs/wsnas.sqlite)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_correlate(args: argparse.Namespace) -> None:
    path, grid = correlate(args.space, mirror=args.data_mirror, truth_file=args.truth_file,
                           columns=comma_list([args.columns]) if args.columns else None,
                           lower=comma_list(args.lower_is_better), archs=parse_archs(args.archs), n_boot=args.n_boot,
                           seed=args.seed, out=args.out, name=args.name, plugins=getattr(args, "plugin", []),
                           progress=not args.quiet, key_col=args.key_col)
    n = max(cell["n"] for cell in grid.cells.values())
    print(f"[correlate] {args.space}: {len(grid.rows)} columns, {n} archs, Kendall and Spearman with 95% bootstrap "
          f"CIs, strongest first")
    print(format_pairs(grid))
    print(f"[correlate] {path}: pairs.csv, pairs.json, heatmap.png")
    print(f"[correlate] {index_and_report(path, args.db)}")
