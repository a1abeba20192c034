"""`wsnas audit`: the ranking metrics of any space's supernet scores against its ground truth, both tables
made outside wsnas (no torch).

The two CSVs are validated strictly, and each problem is one AuditError naming the file, the rows and the
fix. Scores join the truth by arch key (canonicalised first when --space names a registered space, so any
spelling the space accepts matches). Every scored arch needs a truth row; truth rows without a score are
fine and only counted. The result is written like a run's: OUT/metrics.json (the format of `wsnas analyze`)
and OUT/config.json (the inputs, with sha256 of both files), so reports and the results database take an
audit directory as a run.

    wsnas audit --scores S.csv --truth T.csv [--key-col key] [--score-col supernet_acc]
                [--truth-col accuracy] [--space NAME] [--out DIR]
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from wsnas.analysis.compare import FINETUNE, format_summary, summarise
from wsnas.analysis.store import index_and_report
from wsnas.atomic import write_json
from wsnas.benchmarks.groundtruth import canonical_keys
from wsnas.benchmarks.registry import get_space, space_names
from wsnas.benchmarks.sources import file_sha256
from wsnas.config import AnalysisConfig
from wsnas.errors import WsnasError
from wsnas.runs import provenance

MIN_ARCHS = 10  # fewer matched archs: error, the figures would mean nothing
FEW_ARCHS = 30  # fewer: a warning, the intervals will be wide
BN_POLICY_COLUMN = "bn_policy"  # optional scores column; without it every score counts as bn_policy "n/a"
UNREGISTERED_SPACE = "custom"
_EXAMPLES = 3


class AuditError(WsnasError):
    """A scores or truth table that cannot be audited as given."""


@dataclass(frozen=True)
class AuditInputs:
    """The two tables and the names of their columns."""

    scores: Path
    truth: Path
    key_col: str = "key"
    score_col: str = "supernet_acc"
    truth_col: str = "accuracy"
    space: str | None = None  # a registered space canonicalises keys; any other name is only a label


@dataclass(frozen=True)
class Joined:
    """Matched archs (columns key, supernet_acc, truth, epoch, bn_policy, finetune_batches = 0) and what did not
    match."""

    table: pd.DataFrame
    truth_without_score: int
    canonicalised: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class AuditResult:
    out_dir: Path
    metrics: dict[str, Any]
    joined: Joined


# ------------------------------------------------------------------------------------------------ reading

def _line(position: int) -> int:
    """CSV line of a data row (line 1 is the header)."""
    return position + 2


def _examples(items: Sequence[str]) -> str:
    return ", ".join(items[:_EXAMPLES]) + (", ..." if len(items) > _EXAMPLES else "")


def read_table(path: Path, what: str, option: str) -> pd.DataFrame:
    """A CSV with every cell as text (empty cells ""), so bad values can be quoted as written."""
    if not path.exists():
        raise AuditError(f"{what} table {path} does not exist; pass the CSV with {option}")
    if not path.is_file():
        raise AuditError(f"{what} table {path} is not a file; pass a CSV file with {option}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:  # pandas' parser and decoding errors are ValueErrors
        reason = " ".join(str(exc).split())  # pandas' messages span lines
        raise AuditError(f"{what} table {path} is not a readable CSV ({reason}); pass a comma-separated file "
                         f"with a header row via {option}") from None
    if frame.empty:
        raise AuditError(f"{what} table {path} has no data rows (columns: {', '.join(frame.columns)}); "
                         f"pass a table with one row per arch via {option}")
    return frame


def _require(frame: pd.DataFrame, path: Path, what: str, column: str, option: str) -> None:
    if column not in frame.columns:
        present = ", ".join(repr(c) for c in frame.columns)
        raise AuditError(f"{what} table {path} has no column {column!r} (columns present: {present}); "
                         f"name the right one with {option}")


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _numbers(frame: pd.DataFrame, path: Path, what: str, column: str, keys: pd.Series) -> pd.Series:
    """`column` as floats; an error quoting the rows whose value is missing, non-numeric or infinite."""
    values = frame[column].map(_float)
    bad = [(p, k, t) for p, (v, k, t) in enumerate(zip(values, keys, frame[column])) if not math.isfinite(v)]
    if bad:
        examples = [f"line {_line(p)} (key {k!r}): {t!r}" for p, k, t in bad]
        raise AuditError(f"{what} table {path}: {len(bad)} of {len(frame)} row(s) have a missing or non-numeric "
                         f"{column!r}, e.g. {_examples(examples)}; fill in a number (accuracy in %) or drop "
                         f"those rows")
    return values


def _keys(frame: pd.DataFrame, path: Path, what: str, column: str, space: str | None) -> pd.Series:
    """The key column, canonicalised through `space` when it is registered; errors for empty or bad keys."""
    raw = frame[column].str.strip()
    empty = [_line(p) for p in range(len(raw)) if not raw.iloc[p]]
    if empty:
        raise AuditError(f"{what} table {path}: {len(empty)} row(s) have no {column!r}, e.g. lines "
                         f"{_examples([str(n) for n in empty])}; every row needs its arch key")
    if space is None:
        return raw
    keys, failures = canonical_keys(get_space(space), raw)
    if failures:
        bad = [f"line {_line(p)} {t!r}" for p, t in enumerate(raw) if t in failures]
        first = next(iter(failures))
        raise AuditError(f"{what} table {path}: {len(bad)} of {len(raw)} key(s) are not {space} archs, e.g. "
                         f"{_examples(bad)} ({failures[first]}); pass keys of the {space} space, or the "
                         f"right --space")
    return pd.Series(keys, index=raw.index)


def _check_unique(frame: pd.DataFrame, ident: list[str], path: Path, what: str, canonicalised: bool) -> None:
    lines: dict[Any, list[int]] = {}
    for position, values in enumerate(zip(*(frame[c] for c in ident))):
        lines.setdefault(values if len(values) > 1 else values[0], []).append(_line(position))
    repeated = {k: v for k, v in lines.items() if len(v) > 1}
    if not repeated:
        return
    examples = [f"{k!r} on lines {', '.join(map(str, v))}" for k, v in repeated.items()]
    spelled = " (compared after canonicalisation, so two spellings of one arch count as one)" if canonicalised else ""
    per = " and bn_policy" if len(ident) > 1 else ""
    raise AuditError(f"{what} table {path}: {len(repeated)} key(s){spelled} appear more than once "
                     f"({sum(map(len, repeated.values()))} rows), e.g. {_examples(examples)}; keep one row per "
                     f"arch{per}")


# ----------------------------------------------------------------------------------------------- joining

def join_tables(inputs: AuditInputs) -> Joined:
    """Read, validate and join the two tables (see the module docstring for the rules)."""
    space = inputs.space if inputs.space in space_names() else None
    scores = read_table(inputs.scores, "scores", "--scores")
    truth = read_table(inputs.truth, "truth", "--truth")
    for option, column in (("--key-col", inputs.key_col), ("--score-col", inputs.score_col)):
        _require(scores, inputs.scores, "scores", column, option)
    for option, column in (("--key-col", inputs.key_col), ("--truth-col", inputs.truth_col)):
        _require(truth, inputs.truth, "truth", column, option)

    s_keys = _keys(scores, inputs.scores, "scores", inputs.key_col, space)
    t_keys = _keys(truth, inputs.truth, "truth", inputs.key_col, space)
    with_policy = BN_POLICY_COLUMN in scores.columns
    policy = scores[BN_POLICY_COLUMN].str.strip() if with_policy else "n/a"
    table = pd.DataFrame({"key": s_keys, "supernet_acc": _numbers(scores, inputs.scores, "scores",
                                                                  inputs.score_col, s_keys),
                          "epoch": 0, BN_POLICY_COLUMN: policy, FINETUNE: 0})
    if (table[BN_POLICY_COLUMN] == "").any():
        lines = [str(_line(p)) for p in range(len(table)) if table[BN_POLICY_COLUMN].iloc[p] == ""]
        raise AuditError(f"scores table {inputs.scores}: {len(lines)} row(s) have an empty {BN_POLICY_COLUMN!r}, "
                         f"e.g. lines {_examples(lines)}; fill it in or drop the column")
    _check_unique(table, ["key", BN_POLICY_COLUMN] if with_policy else ["key"], inputs.scores, "scores",
                  space is not None)
    _check_unique(pd.DataFrame({"key": t_keys}), ["key"], inputs.truth, "truth", space is not None)

    position = pd.Series(range(len(t_keys)), index=t_keys.to_numpy())
    unmatched = table.loc[~table["key"].isin(position.index), "key"].unique().tolist()
    unscored = int((~position.index.isin(table["key"])).sum())
    if unmatched:
        hint = ("" if space else f"; if the keys name the same archs spelled differently, pass --space "
                f"({', '.join(space_names())}) to canonicalise them")
        raise AuditError(f"{len(unmatched)} of {table['key'].nunique()} scored arch(s) in {inputs.scores} have no "
                         f"row in the truth table {inputs.truth}, e.g. {_examples([repr(k) for k in unmatched])} "
                         f"(and {unscored} of {len(t_keys)} truth rows have no score, which is fine); every "
                         f"scored arch needs its ground truth: add the rows or drop those scores{hint}")

    rows = position.loc[table["key"].to_numpy()].to_numpy()
    matched = truth.iloc[rows].reset_index(drop=True)
    table["truth"] = _numbers(matched, inputs.truth, "truth", inputs.truth_col, table["key"]).to_numpy()
    return Joined(table, unscored, space is not None, _check_counts(table))


def _check_counts(table: pd.DataFrame) -> tuple[str, ...]:
    """Warnings for small groups; an error for groups too small to mean anything."""
    warnings = []
    for policy, n in table.groupby(BN_POLICY_COLUMN).size().items():
        where = f" with bn_policy {policy!r}" if policy != "n/a" else ""
        if n < MIN_ARCHS:
            raise AuditError(f"only {n} matched arch(s){where}; ranking figures need at least {MIN_ARCHS} "
                             f"(better {FEW_ARCHS} or more): score and list more archs")
        if n < FEW_ARCHS:
            warnings.append(f"only {n} matched archs{where}: below {FEW_ARCHS} the intervals are wide and "
                            f"the top-k figures coarse")
    return tuple(warnings)


# ----------------------------------------------------------------------------------------------- running

def run_audit(inputs: AuditInputs, out_dir: Path, *, n_boot: int, seed: int,
              topk: Sequence[int | float]) -> AuditResult:
    """Join, summarise (compare.summarise) and write OUT/metrics.json and OUT/config.json."""
    if n_boot < 1:
        raise AuditError(f"--n-boot {n_boot} must be at least 1 (bootstrap resamples), e.g. 1000")
    joined = join_tables(inputs)
    results = summarise(joined.table, topk=topk, n_boot=n_boot, seed=seed)
    space = inputs.space or UNREGISTERED_SPACE
    analysis = {"truth": inputs.truth_col, "n_boot": n_boot, "seed": seed, "topk": list(topk)}
    config = {"space": space, "analysis": analysis}
    audit = {"scores": {"path": str(inputs.scores.resolve()), "sha256": file_sha256(inputs.scores),
                        "key_col": inputs.key_col, "score_col": inputs.score_col},
             "truth": {"path": str(inputs.truth.resolve()), "sha256": file_sha256(inputs.truth),
                       "key_col": inputs.key_col, "truth_col": inputs.truth_col},
             "canonicalised_by_space": joined.canonicalised, "matched_archs": int(joined.table["key"].nunique()),
             "truth_rows_without_score": joined.truth_without_score}
    metrics = {"kind": "audit", "space": space, "truth": inputs.truth_col,
               "truth_source": f"{inputs.truth.resolve()} (column {inputs.truth_col!r})", "n_boot": n_boot,
               "bootstrap_seed": seed, "results": results, "config": config}
    write_json(out_dir / "config.json", {"kind": "audit", "config": config, "audit": audit,
                                         "provenance": provenance()})
    write_json(out_dir / "metrics.json", metrics)
    return AuditResult(out_dir, metrics, joined)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    defaults = AnalysisConfig()
    p = sub.add_parser("audit", help="ranking metrics of any space's scores against its ground truth (two CSVs)")
    p.add_argument("--scores", required=True, help="CSV of supernet scores: a key and a score column "
                                                   "(optional bn_policy column)")
    p.add_argument("--truth", required=True, help="CSV of ground truth: a key and a truth column")
    p.add_argument("--key-col", default="key", help="arch key column in both tables (default: key)")
    p.add_argument("--score-col", default="supernet_acc", help="score column (default: supernet_acc)")
    p.add_argument("--truth-col", default="accuracy", help="ground-truth column (default: accuracy)")
    p.add_argument("--space", help=f"space name; a registered one ({', '.join(space_names())}) canonicalises keys")
    p.add_argument("--out", help="output directory (default: runs/audit-<scores file stem>)")
    p.add_argument("--n-boot", type=int, default=defaults.n_boot, help=f"bootstrap resamples ({defaults.n_boot})")
    p.add_argument("--seed", type=int, default=defaults.seed, help=f"bootstrap seed ({defaults.seed})")
    p.add_argument("--db", help="results database to index into (default: $WSNAS_DB, else runs/wsnas.sqlite)")
    p.set_defaults(func=cmd_audit)
    return p


def cmd_audit(args: argparse.Namespace) -> None:
    scores = Path(args.scores)
    inputs = AuditInputs(scores, Path(args.truth), args.key_col, args.score_col, args.truth_col, args.space)
    out = Path(args.out) if args.out else Path("runs") / f"audit-{scores.stem}"
    if args.space and args.space not in space_names():
        print(f"[audit] space {args.space!r} is not registered ({', '.join(space_names())}): keys are matched "
              f"as written", file=sys.stderr)
    result = run_audit(inputs, out, n_boot=args.n_boot, seed=args.seed, topk=AnalysisConfig().topk)
    for warning in result.joined.warnings:
        print(f"[audit] warning: {warning}", file=sys.stderr)
    print(f"[audit] {result.joined.table['key'].nunique()} matched archs; {result.joined.truth_without_score} "
          f"truth rows have no score (not used)")
    print(format_summary(result.metrics["results"], args.truth_col))
    print(f"[audit] metrics: {out / 'metrics.json'}")
    print(f"[audit] {index_and_report(out, args.db)}")
