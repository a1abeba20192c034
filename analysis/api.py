"""The Python API for notebooks: `wsnas.audit`, `wsnas.load` and `wsnas.compare` (no torch on this path; the
`wsnas` package forwards the three names here on first use).

Each takes what the matching command takes, with its options as keyword arguments, and returns an object that
holds the numbers as DataFrames beside the raw documents the command writes (docs/python-api.md shows them at
work; the tests run its examples).
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from wsnas.analysis.audit.run import AuditInputs, run_audit, verdict_lines
from wsnas.analysis.paired_compare import compare as compare_specs
from wsnas.analysis.paired_compare import format_comparison
from wsnas.analysis.replicated import verdict
from wsnas.analysis.report.render import render_report
from wsnas.analysis.verdicts import load_tables
from wsnas.core.atomic import write_text
from wsnas.core.run_files import SUPERNET_ACC

Table = pd.DataFrame | str | Path
FIGURES = ("kendall", "spearman", "pearson", "weighted_kendall", "sparse_kendall")  # rank figures with intervals


def _as_path(table: Table, what: str) -> Path:
    """A path to the table: a DataFrame is written once to a temporary CSV named by its content's hash, so the
    same frame always gives the same file (and the same audit identity)."""
    if not isinstance(table, pd.DataFrame):
        return Path(table)
    text = table.to_csv(index=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / "wsnas-api" / f"{what}-{digest}.csv"
    if not path.is_file():  # written atomically: a killed write never leaves a partial file under this name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)
    return path


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class AuditResult:
    """An audit's directory and metrics.json (`raw`); `.metrics` is its tidy table, `.report()` draws it."""

    directory: Path
    raw: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per score x truth x BN policy x figure: score, truth, bn_policy, metric, value, low, high (the
        95% interval; NaN where there is none), plus the replicate groups' figures (score "replicates")."""
        rows = [{"score": r["score"], "truth": r["truth"], "bn_policy": r["bn_policy"], "metric": name,
                 "value": r[name]["value"], "low": r[name].get("ci_low"), "high": r[name].get("ci_high")}
                for r in self.raw["results"] for name in FIGURES if name in r]
        rows += [{"score": "replicates", "truth": r["truth"], "bn_policy": r["bn_policy"], "metric": name,
                  "value": r[name]["value"], "low": r[name]["ci_low"], "high": r[name]["ci_high"]}
                 for r in self.raw.get("replicated", []) for name in ("kendall", "spearman")]
        return pd.DataFrame(rows, columns=["score", "truth", "bn_policy", "metric", "value", "low", "high"]).astype(
            {"value": float, "low": float, "high": float})

    @property
    def verdicts(self) -> list[str]:
        """The verdict lines the command prints first."""
        return verdict_lines(self.raw)

    def report(self, out_root: str | Path = "reports", name: str | None = None) -> Path:
        """Draw the audit's report into OUT_ROOT/<name>/ (default name: the audit directory's); its index.html."""
        render_report([self.directory], name, out_root, progress=False)
        return Path(out_root) / (name or self.directory.name) / "index.html"


def audit(scores: Table, truth: Table | None = None, *, score_cols: str | Sequence[str] | None = None,
          truth_cols: str | Sequence[str] | None = None, key_col: str = "key", truth_key_col: str | None = None,
          lower_is_better: str | Sequence[str] = (), units: dict[str, str] | None = None,
          sparse_tol: dict[str, float] | None = None, truth_seeds: dict[str, Sequence[str]] | None = None,
          replicate_cols: str | Sequence[str] = (), drop_unmatched: bool = False, features: Table | None = None,
          features_key_col: str | None = None, space: str | None = None,
          plugins: Sequence[str] = (), mirror: str | None = None, sep: str | None = None,
          truth_sep: str | None = None, out: str | Path | None = None, name: str | None = None,
          n_boot: int = 1000, seed: int = 0, topk: Sequence[int | float] = (1, 10, 0.01, 0.1)) -> AuditResult:
    """`wsnas audit` on DataFrames or paths (`truth` None: the registered `space`'s own ground truth; `features`:
    the archs' features, a DataFrame or path as `--features` takes). The options are the command's; `units`,
    `sparse_tol` and `truth_seeds` map a column to its value."""
    replicates = _names(replicate_cols)
    columns = tuple(dict.fromkeys([*_names(score_cols), *replicates])) or (SUPERNET_ACC,)
    inputs = AuditInputs(
        scores=_as_path(scores, "scores"), truth=None if truth is None else _as_path(truth, "truth"),
        key_col=key_col, truth_key_col=truth_key_col, score_cols=columns, truth_cols=_names(truth_cols),
        lower_is_better=_names(lower_is_better), units=tuple(f"{c}={u}" for c, u in (units or {}).items()),
        sparse_tol=tuple(f"{c}={t}" for c, t in (sparse_tol or {}).items()),
        truth_seeds=tuple(f"{c}={','.join(s)}" for c, s in (truth_seeds or {}).items()), sep=sep,
        truth_sep=truth_sep, space=space, plugins=tuple(plugins), mirror=mirror, replicate_cols=replicates,
        drop_unmatched=drop_unmatched, features=None if features is None else _as_path(features, "features"),
        features_key_col=features_key_col)
    result = run_audit(inputs, out=out, name=name, n_boot=n_boot, seed=seed, topk=topk)
    return AuditResult(result.out_dir, result.metrics, (*result.joined.warnings, *result.notes))


def load(directory: str | Path, truth: str | None = None, mirror: str | None = None) -> pd.DataFrame:
    """The scores of a run or replicate group joined with the ground truth (`truth`: a column; default the run's
    analysis.truth): every scores.csv row with its "truth" and the member's path in "replicate"."""
    tables = load_tables(directory, truth, mirror)
    return pd.concat([t.assign(replicate=str(run.path)) for run, t in zip(tables.runs, tables.tables)],
                     ignore_index=True)


@dataclass(frozen=True)
class Comparison:
    """`wsnas compare A B`: `raw` is the comparison document; `.table` one row per statistic."""

    raw: dict[str, Any]

    @property
    def table(self) -> pd.DataFrame:
        """statistic, a, b, difference, low, high, p_value, detectable (the smallest difference detected at 80%)."""
        return pd.DataFrame([{"statistic": name, "a": d["a"], "b": d["b"], "difference": d["difference"],
                              "low": d["ci_low"], "high": d["ci_high"], "p_value": d["p_value"],
                              "detectable": d.get("detectable")} for name, d in self.raw["differences"].items()])

    @property
    def verdict(self) -> str:
        """The Kendall verdict: 'A beats B ...', 'A loses to B ...' or 'A and B are not distinguishable ...'."""
        return verdict(self.raw["differences"]["kendall"], "A", "B")

    def __str__(self) -> str:
        return format_comparison(self.raw)


def compare(a: str | Path, b: str | Path, *, truth: str | None = None, mirror: str | None = None,
            n_boot: int | None = None, seed: int | None = None) -> Comparison:
    """`wsnas compare A B`: A and B are RUN_OR_GROUP[@selector,...] or B is baseline:NAME."""
    return Comparison(compare_specs(str(a), str(b), metric=truth, mirror=mirror, n_boot=n_boot, seed=seed))
